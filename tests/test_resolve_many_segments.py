"""Resolution over more segments than fit one 64-bit word of membership bits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segment_core import RuleSegment, parse_expression, resolve


def test_contacts_that_differ_only_past_the_64th_segment_resolve_apart():
    segments = [
        RuleSegment(f"S{i}", 200 - i if i >= 64 else 0, parse_expression("email is set"))
        for i in range(130)
    ]
    rng = np.random.default_rng(3)
    matrix = rng.random((3_000, 130)) < 0.02
    matrix[:2, :64] = True  # the first two contacts share their first word, not the rest
    matrix[0, 64:], matrix[1, 64:] = False, False
    matrix[1, 129] = True
    memberships = pd.DataFrame(matrix, columns=[s.name for s in segments])

    assignments = resolve(memberships, segments, fallback="none")

    ranked = sorted(segments, key=lambda s: -s.priority)
    expected = [
        tuple(s.name for s in ranked if row[s.name]) for _, row in memberships.iterrows()
    ]
    assert assignments["segments"].tolist() == expected
    assert assignments["primary"].tolist() == [names[0] if names else "none" for names in expected]
    assert assignments.loc[:1, "primary"].tolist() == ["S0", "S129"]
    assert assignments["reason"].dtype == pd.Series(["text"], dtype="str").dtype
