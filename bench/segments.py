"""Segmenting speed: 1,000,000 contacts x 10 rule segments, evaluated and resolved.

Run: make bench (or .venv/bin/python bench/segments.py [contacts]). Prints figures only.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from segment_core import CoercedFrame, RuleSegment, membership_table, parse_expression, resolve


def main(contacts: int) -> None:
    rng = np.random.default_rng(7)
    ids = pd.Index(np.arange(contacts).astype(str))
    frame = CoercedFrame(
        data=pd.DataFrame({"score": rng.integers(0, 1000, contacts).astype("float64")}, index=ids),
        field_types={"score": "number"},
        problems=pd.DataFrame(),
    )
    segments = [
        RuleSegment(f"S{i}", i % 3, parse_expression(f"score between {low} and {low + 299}"))
        for i, low in enumerate(range(0, 1000, 100))
    ]
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    memberships = membership_table(segments, frame, now)
    evaluated = time.perf_counter()
    resolve(memberships, segments, fallback="none")
    resolved = time.perf_counter()
    print(f"contacts            {contacts:>12,}")
    print(f"segments            {len(segments):>12}")
    print(f"evaluate (s)        {evaluated - started:>12.2f}")
    print(f"resolve (s)         {resolved - evaluated:>12.2f}")
    print(f"contacts/second     {contacts / (resolved - started):>12,.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
