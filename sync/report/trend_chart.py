"""The segment trend chart: each segment's size across the recorded runs, one line each.

Kept beside ``charts`` (whose look it shares) so that module stays about the current run.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from sync.report.charts import LIGHT, WIDTH, _data_uri, _style, _thousands

LEGEND_ROWS = 12
"""Segments per legend column before it wraps into another."""

RUN_TICKS = 12
"""Up to this many runs, each gets its own tick, labelled by its start."""
RUN_TIME_FORMATS = ("%b %d", "%b %d\n%H:%M", "%b %d\n%H:%M:%S")
"""Run start labels, coarsest first: the first that tells every run apart is used."""


def segment_trends(history: pd.DataFrame) -> str:
    """One line per segment (columns) over the runs' start times (index); a segment missing
    from a run (not configured yet) has no point there, so its line starts later."""
    with _style():
        figure = Figure(figsize=(WIDTH, 4.2))
        axes = figure.subplots()
        times = history.index.tz_convert("UTC").tz_localize(None)
        for segment in history.columns:
            axes.plot(
                times,
                history[segment].astype(float),
                marker="o",
                markersize=3.5,
                linewidth=1.6,
                label=str(segment),
            )
        if len(times) <= RUN_TICKS:
            axes.set_xticks(times, _run_labels(times))
        else:
            locator = AutoDateLocator(maxticks=8)
            axes.xaxis.set_major_locator(locator)
            axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.set_xlabel("Run started (UTC)")
        axes.set_ylabel("Contacts")
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_formatter(_thousands())
        axes.grid(axis="y", color=LIGHT, linewidth=0.6)
        axes.set_axisbelow(True)
        axes.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
            ncols=1 + (len(history.columns) - 1) // LEGEND_ROWS,
            fontsize="small",
        )
        return _data_uri(figure)


def _run_labels(times: pd.DatetimeIndex) -> list[str]:
    """Each run's start, as coarse as still tells the runs apart (runs seconds apart, as in
    the demo, get seconds; daily runs only their day)."""
    for layout in RUN_TIME_FORMATS:
        labels = [time.strftime(layout) for time in times]
        if len(set(labels)) == len(labels):
            return labels
    return labels
