"""The segment report: one self-contained HTML file of segment sizes, overlaps, profiles,
field completeness and run history, for the sales reps and marketers who use the segments.

    report = ReportInput(contacts, membership, assignments, rule_definitions(segments), ...)
    render_report(report, "segsync-report.html")
"""

from sync.report.model import (
    ClusterModelStatus,
    ClusterProfile,
    ClusterRuleFigures,
    Conversion,
    ReportInput,
    SegmentDefinition,
    rule_definitions,
)
from sync.report.render import render_html, render_report

__all__ = [
    "ClusterModelStatus",
    "ClusterProfile",
    "ClusterRuleFigures",
    "Conversion",
    "ReportInput",
    "SegmentDefinition",
    "render_html",
    "render_report",
    "rule_definitions",
]
