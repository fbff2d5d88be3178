"""What counts as a converted contact: the report's conversion rates and the holdout record
(``sync.holdout_record``) read it the same way."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Conversion:
    """Which contacts count as converted: ``field`` is true, or one of ``values``.

    A bool field counts its true values; any other field counts the contacts whose value is
    one of ``values``, ignoring case and surrounding spaces (e.g. lifecycle stage "customer").
    """

    field: str
    values: frozenset[str] = frozenset({"customer"})


def converted(contacts: pd.DataFrame, conversion: Conversion) -> pd.Series:
    """Which contacts count as converted (missing values do not)."""
    column = contacts[conversion.field]
    if pd.api.types.is_bool_dtype(column):
        return column.fillna(False).astype(bool)
    wanted = {value.strip().casefold() for value in conversion.values}
    return column.astype("string").str.strip().str.casefold().isin(wanted).fillna(False)
