"""The report's charts: matplotlib figures rendered to SVG, returned as ``data:`` URIs.

A data URI in an ``<img>`` keeps the report one file that opens offline, and an SVG loaded as an
image can neither run script nor fetch anything, whatever text (segment names, CRM values) it
shows. Figures are built with the object API (``Figure``, no pyplot), so no global state or GUI
backend is involved, and glyphs are drawn as paths so the charts look the same everywhere.
Math text is off: a ``$`` in a name is a dollar sign, never the start of TeX to parse.
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from matplotlib.typing import RcKeyType

from sync.report import formatting
from sync.report.stats import Trait

if TYPE_CHECKING:  # matplotlib's rc key names, for type checking only (newer than 3.9)
    from matplotlib.typing import RcKeyType

ACCENT = "#2563eb"
LIGHT = "#cbd5e1"
TEXT = "#1f2937"
MUTED = "#6b7280"
GOOD = "#15803d"
BAD = "#b91c1c"
WARN = "#c2410c"
STATUS_COLOURS = {"succeeded": GOOD, "failed": BAD, "aborted": WARN}
"""Run statuses with a colour; any other status (a dry run, say) is grey."""

WIDTH = 9.0
"""Inches; the HTML scales every chart to its container, so this only sets text size."""

CARD_WIDTH = 4.6
"""Inches of a chart inside a profile card, which is about half as wide as a section."""

FONT_SIZE = 9
CARD_FONT_SIZE = 11.5
"""Points; a card's chart is shown at half the width of a section's, so its text is larger."""

LABEL_WIDTH = 34
"""Characters per line of a long axis label before it wraps."""

HISTORY_RUNS = 60
"""The most recent runs drawn; older ones would be too thin to read."""

STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "text.color": TEXT,
    "axes.labelcolor": TEXT,
    "axes.edgecolor": LIGHT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "xtick.color": MUTED,
    "ytick.color": TEXT,
    "legend.frameon": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "segsync-report",  # stable element ids: the same data, the same file
    "text.parse_math": False,  # names and CRM values are text: "$x$" is not mathtext
}


def segment_sizes(sizes: pd.DataFrame) -> str:
    """Contacts per segment as bars, each labelled with its size and its change since the last
    run, with a tick where the last run left it."""
    with _style():
        figure = Figure(figsize=(WIDTH, 0.9 + 0.42 * len(sizes)))
        axes = figure.subplots()
        positions = np.arange(len(sizes))[::-1]
        axes.barh(positions, sizes["members"], color=ACCENT, height=0.62)
        known = sizes["previous"].notna().to_numpy()
        if known.any():
            axes.scatter(
                sizes["previous"][known].astype(float),
                positions[known],
                marker="|",
                s=260,
                linewidths=2.2,
                color=TEXT,
                label="Size at the last run",
                zorder=3,
            )
            axes.legend(loc="lower right")
        for position, (members, change) in zip(
            positions, sizes[["members", "change"]].itertuples(index=False), strict=False
        ):
            label = axes.annotate(
                formatting.count(int(members)),
                (members, position),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                fontweight="bold",
            )
            if not pd.isna(change):
                colour = GOOD if change > 0 else BAD if change < 0 else MUTED
                axes.annotate(
                    f"({formatting.signed(int(change))})",
                    (1, 0.5),
                    xycoords=label,
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    color=colour,
                )
        axes.set_yticks(positions, _wrapped(sizes.index))
        axes.set_xlim(0, max(float(sizes["members"].max()), 1.0) * 1.18)
        axes.xaxis.set_major_formatter(_thousands())
        axes.set_xlabel("Contacts")
        axes.grid(axis="x", color=LIGHT, linewidth=0.6)
        axes.set_axisbelow(True)
        return _data_uri(figure)


def overlap(shared: pd.DataFrame, jaccard: pd.DataFrame) -> str:
    """A heat-map of the Jaccard index with the shared contact counts written in the cells."""
    count = len(shared)
    with _style():
        side = 2.6 + 0.75 * count
        figure = Figure(figsize=(side + 1.6, side))
        axes = figure.subplots()
        image = axes.imshow(jaccard.to_numpy(), cmap="Blues", vmin=0.0, vmax=1.0)
        for row in range(count):
            for column in range(count):
                axes.text(
                    column,
                    row,
                    formatting.count(int(shared.iat[row, column])),
                    ha="center",
                    va="center",
                    fontsize="small",
                    fontweight="bold" if row == column else "normal",
                    color="white" if jaccard.iat[row, column] > 0.55 else TEXT,
                )
        names = _wrapped(shared.index, width=22)
        axes.set_xticks(range(count), names, rotation=35, ha="right")
        axes.set_yticks(range(count), names)
        axes.spines[:].set_visible(False)
        colourbar = figure.colorbar(image, ax=axes, fraction=0.045, pad=0.03)
        colourbar.set_label("Overlap: contacts in both ÷ contacts in either")
        colourbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        colourbar.outline.set_visible(False)
        return _data_uri(figure)


def cluster_means(means: pd.DataFrame, labels: Sequence[str]) -> str:
    """How far each feature's cluster mean is above or below the mean of all contacts, in %;
    the two averages are written under each feature's name."""
    overall = means["overall"].to_numpy(dtype=float)
    cluster = means["cluster"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(overall != 0, (cluster - overall) / np.abs(overall), np.nan)
    drawn = np.nan_to_num(relative)
    with _style(CARD_FONT_SIZE):
        figure = Figure(figsize=(CARD_WIDTH, 0.8 + 0.55 * len(means)))
        axes = figure.subplots()
        positions = np.arange(len(means))[::-1]
        bars = axes.barh(
            positions, drawn, color=[ACCENT if r >= 0 else WARN for r in drawn], height=0.6
        )
        axes.bar_label(bars, change_labels(cluster, relative), padding=3, fontsize="small")
        axes.axvline(0, color=MUTED, linewidth=0.8)
        limit = max(float(np.abs(drawn).max(initial=0.0)), 0.1) * 1.3
        axes.set_xlim(-limit if (drawn < 0).any() else -0.05 * limit, limit)
        axes.set_yticks(positions, mean_captions(means, _wrapped(labels, width=22)))
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
        axes.set_xlabel("Cluster average compared with all contacts")
        return _data_uri(figure)


def change_labels(cluster: np.ndarray, relative: np.ndarray) -> list[str]:
    """Each bar's label: the change in %, "no data" when the cluster has no average, "n/a"
    when all contacts average 0 (no change in % from nothing)."""
    return [
        formatting.NO_DATA
        if np.isnan(mean)
        else "n/a"
        if np.isnan(change)
        else f"{change:+.0%}".replace("-", formatting.MINUS)
        for mean, change in zip(cluster, relative, strict=True)
    ]


def mean_captions(means: pd.DataFrame, labels: Sequence[str]) -> list[str]:
    """Each feature's caption: its label over its two averages, cluster first."""
    return [
        f"{label}\navg {formatting.value(mean)} vs {formatting.value(average)}"
        for label, mean, average in zip(labels, means["cluster"], means["overall"], strict=True)
    ]


def traits(found: Sequence[Trait]) -> str:
    """Each trait's share of the segment next to its share of all contacts."""
    with _style(CARD_FONT_SIZE):
        figure = Figure(figsize=(CARD_WIDTH, 0.9 + 0.55 * len(found)))
        axes = figure.subplots()
        positions = np.arange(len(found))[::-1]
        for offset, colour, label, shares in (
            (0.18, ACCENT, "This segment", [t.segment_share for t in found]),
            (-0.18, LIGHT, "All contacts", [t.overall_share for t in found]),
        ):
            bars = axes.barh(positions + offset, shares, height=0.34, color=colour, label=label)
            axes.bar_label(
                bars, [formatting.percent(s) for s in shares], padding=3, fontsize="small"
            )
        axes.set_yticks(positions, _wrapped([t.label for t in found], width=26))
        axes.set_xlim(0, 1.15)
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
        axes.legend(loc="lower right", ncols=2, bbox_to_anchor=(1, 1))
        return _data_uri(figure)


def outcomes(frame: pd.DataFrame) -> str:
    """Conversion rate and revenue per contact by segment, against all contacts (dashed)."""
    panels = [
        (column, title)
        for column, title in (
            ("conversion_rate", "Conversion rate"),
            ("revenue_per_contact", "Revenue per contact"),
        )
        if column in frame
    ]
    segments, everyone = frame.iloc[:-1], frame.iloc[-1]
    with _style():
        figure = Figure(figsize=(WIDTH, 0.9 + 0.42 * len(segments)), layout="constrained")
        positions = np.arange(len(segments))[::-1]
        for index, (axes, (column, title)) in enumerate(
            zip(figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=False)
        ):
            is_rate = column == "conversion_rate"
            show = formatting.percent if is_rate else formatting.amount
            bars = axes.barh(positions, segments[column], color=ACCENT, height=0.6)
            axes.bar_label(
                bars,
                [show(v) for v in segments[column]],
                padding=3,
                fontsize="small",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6},
            )
            axes.axvline(everyone[column], color=TEXT, linestyle="--", linewidth=1, zorder=1)
            axes.annotate(
                f"All contacts: {show(everyone[column])}",
                (everyone[column], 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, 2),
                textcoords="offset points",
                fontsize="small",
            )
            axes.set_title(title, pad=16)
            axes.set_xlim(0, max(float(frame[column].max()), 1e-9) * 1.3)
            axes.xaxis.set_major_formatter(PercentFormatter(1.0) if is_rate else _compact())
            axes.xaxis.set_major_locator(MaxNLocator(nbins=4))
            axes.set_yticks(positions, _wrapped(segments.index) if index == 0 else [])
        return _data_uri(figure)


def completeness(frame: pd.DataFrame) -> str:
    """How many contacts have a value, per field; fields the segments read stand out."""
    with _style():
        figure = Figure(figsize=(WIDTH, 0.9 + 0.3 * len(frame)))
        axes = figure.subplots()
        positions = np.arange(len(frame))[::-1]
        colours = [ACCENT if used else LIGHT for used in frame["used"]]
        bars = axes.barh(positions, frame["share"], color=colours, height=0.7)
        axes.bar_label(
            bars, [formatting.percent(s) for s in frame["share"]], padding=3, fontsize="small"
        )
        axes.set_yticks(positions, _wrapped(frame["label"]))
        axes.set_xlim(0, 1.12)
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
        axes.set_xlabel("Contacts with a value")
        axes.legend(
            handles=[
                Patch(color=ACCENT, label="Read by segment definitions"),
                Patch(color=LIGHT, label="Other fields"),
            ],
            loc="lower right",
            ncols=2,
            bbox_to_anchor=(1, 1),
        )
        return _data_uri(figure)


def run_history(runs: pd.DataFrame) -> str:
    """The recent runs side by side: status, changes written, records refused, API calls."""
    runs = runs.tail(HISTORY_RUNS).reset_index(drop=True)
    positions = np.arange(len(runs))
    with _style():
        figure = Figure(figsize=(WIDTH, 6.2))
        status, changes, refused, calls = figure.subplots(
            4, 1, sharex=True, height_ratios=[0.35, 2, 1, 1], gridspec_kw={"hspace": 0.45}
        )
        status.scatter(
            positions,
            np.zeros(len(runs)),
            marker="s",
            s=90,
            c=[STATUS_COLOURS.get(s, MUTED) for s in runs["status"]],
        )
        status.set_yticks([0], ["Status"])
        status.spines[:].set_visible(False)
        status.tick_params(axis="x", length=0)
        status.legend(
            handles=[Patch(color=c, label=s.capitalize()) for s, c in STATUS_COLOURS.items()],
            loc="lower right",
            ncols=3,
            bbox_to_anchor=(1, 1),
        )
        bottom = np.zeros(len(runs))
        for column, colour, label in (
            ("writes", ACCENT, "Contact updates"),
            ("list_adds", GOOD, "Added to lists"),
            ("list_removes", WARN, "Removed from lists"),
        ):
            changes.bar(
                positions, runs[column], bottom=bottom, color=colour, label=label, width=0.7
            )
            bottom += runs[column].to_numpy()
        changes.set_title("Changes written to the CRM")
        changes.legend(loc="upper left", ncols=3, fontsize="small")
        refused.bar(positions, runs["failures"], color=BAD, width=0.7)
        refused.set_title("Records the CRM refused")
        calls.plot(
            positions, runs["api_calls"], color=TEXT, marker="o", markersize=3, linewidth=1.2
        )
        calls.set_title("API calls")
        calls.set_ylim(bottom=0)
        for axes in (changes, refused, calls):
            axes.yaxis.set_major_formatter(_thousands())
            axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            axes.grid(axis="y", color=LIGHT, linewidth=0.6)
            axes.set_axisbelow(True)
        calls.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
        calls.xaxis.set_major_formatter(FuncFormatter(_run_start_label(runs)))
        calls.tick_params(axis="x", labelrotation=30)
        calls.set_xlim(-0.6, len(runs) - 0.4)
        return _data_uri(figure)


@contextmanager
def _style(font_size: float = FONT_SIZE) -> Iterator[None]:
    """The report's look for the figures built inside, without touching global settings."""
    style: dict[RcKeyType, Any] = {**STYLE, "font.size": font_size}
    with mpl.rc_context(style):
        yield


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _wrapped(labels: Iterable[object], width: int = LABEL_WIDTH) -> list[str]:
    return ["\n".join(textwrap.wrap(str(label), width)) or str(label) for label in labels]


def _thousands() -> FuncFormatter:
    return FuncFormatter(lambda number, _position: formatting.value(number))


def _compact() -> FuncFormatter:
    return FuncFormatter(lambda number, _position: formatting.compact(number))


def _run_start_label(runs: pd.DataFrame) -> Callable[[float, int], str]:
    """Tick labels: the start of the run at each integer position, day and time."""

    def label(position: float, _tick: int) -> str:
        index = round(position)
        if index != position or not 0 <= index < len(runs):
            return ""
        return pd.Timestamp(runs["started_at"].iat[index]).strftime("%b %d\n%H:%M")

    return label
