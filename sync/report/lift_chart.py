"""The holdout lift chart: a segment's list against its holdout, conversion rates with their
95% intervals, so the overlap (or the gap) between the two can be seen at a glance.

Kept beside ``charts`` (whose look it shares) so that module stays about the current run.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from sync.report import formatting
from sync.report.charts import (
    ACCENT,
    CARD_FONT_SIZE,
    CARD_WIDTH,
    LIGHT,
    MUTED,
    TEXT,
    _data_uri,
    _style,
)
from sync.report.lift import HoldoutLift, wilson_interval


def group_rates(lift: HoldoutLift) -> str:
    """Two bars, the list's and the holdout's conversion rate since entering, each with its
    Wilson interval and labelled with its converted and counted contacts."""
    groups = [("On the list", lift.listed, ACCENT), ("Held out", lift.held_out, MUTED)]
    positions = np.arange(len(groups))[::-1]
    with _style(CARD_FONT_SIZE):
        figure = Figure(figsize=(CARD_WIDTH, 1.9))
        axes = figure.subplots()
        highest = 0.0
        for position, (_, group, colour) in zip(positions, groups, strict=True):
            low, high = wilson_interval(group)
            highest = max(highest, high)
            axes.barh(position, group.rate, color=colour, height=0.55)
            axes.errorbar(
                group.rate,
                position,
                xerr=[[group.rate - low], [high - group.rate]],
                color=TEXT,
                capsize=4,
                linewidth=1.2,
            )
            axes.annotate(
                f"{formatting.percent(group.rate)}  "
                f"({formatting.count(group.converted)} of {formatting.count(group.contacts)})",
                (high, position),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
            )
        axes.set_yticks(positions, [name for name, _, _ in groups])
        axes.set_xlim(0, max(highest, 0.01) * 1.6)
        axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_xlabel("Converted since entering the segment (95% interval)")
        axes.grid(axis="x", color=LIGHT, linewidth=0.6)
        axes.set_axisbelow(True)
        return _data_uri(figure)
