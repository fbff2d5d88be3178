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
