"""Duplicate contacts: records that look like one person, found by normalised keys.

Two keys: the email (trimmed, lowercased; for Gmail addresses, optionally, dots and ``+tags``
dropped from the local part and ``googlemail.com`` read as ``gmail.com``), and the name with the
company (case, spacing and punctuation ignored; a trailing legal form such as "Inc." or "GmbH"
dropped from the company). Each normaliser runs once per distinct value, as CRM text repeats.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

_LEGAL_FORMS = (
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "bv",
    "nv",
    "oy",
    "ab",
    "pty",
    "srl",
    "spa",
)
_LEGAL_FORM_PATTERN = rf"(?:\s+(?:{'|'.join(_LEGAL_FORMS)}))+$"


@dataclass(frozen=True)
class DuplicateGroup:
    """Contacts that look like one person: same normalised email, or same name and company."""

    kind: Literal["email", "name_company"]
    key: str
    contact_ids: tuple[str, ...]



def normalise_email(emails: pd.Series, gmail: bool = True) -> pd.Series:
    """Trimmed, lowercased emails; with ``gmail``, Gmail's dots and ``+tags`` dropped. Text
    without exactly one "@" between non-empty parts is missing (not an address)."""

    def normalise(text: pd.Series) -> pd.Series:
        text = text.str.strip().str.lower()
        text = text.where(text.str.fullmatch(r"[^@\s]+@[^@\s]+").fillna(False).astype(bool))
        if gmail:
            is_gmail = text.str.endswith(("@gmail.com", "@googlemail.com")).fillna(False)
            local = text[is_gmail].str.extract(r"^([^+@]*)", expand=False)
            text[is_gmail] = local.str.replace(".", "", regex=False) + "@gmail.com"
        return text

    return _on_distinct(emails, normalise)


def normalise_name(text: pd.Series) -> pd.Series:
    """Case-folded, with runs of spaces as one and surrounding spaces gone; empty is missing."""

    def normalise(text: pd.Series) -> pd.Series:
        cleaned = text.str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()
        return cleaned.mask(cleaned == "")

    return _on_distinct(text, normalise)


def normalise_company(text: pd.Series) -> pd.Series:
    """Like ``normalise_name`` with punctuation as spaces and a trailing legal form dropped."""

    def normalise(text: pd.Series) -> pd.Series:
        cleaned = text.str.casefold().str.replace(r"[^\w\s]", " ", regex=True)
        cleaned = cleaned.str.replace(r"\s+", " ", regex=True).str.strip()
        without_form = cleaned.str.replace(_LEGAL_FORM_PATTERN, "", regex=True).str.strip()
        cleaned = without_form.mask(without_form == "", cleaned)  # "Co" alone stays a name
        return cleaned.mask(cleaned == "")

    return _on_distinct(text, normalise)


def _on_distinct(
    column: pd.Series, normalise: Callable[[pd.Series], pd.Series]
) -> pd.Series:
    """``normalise`` applied once per distinct value and spread back (CRM text repeats a lot)."""
    codes, distinct = pd.factorize(column)
    result = normalise(pd.Series(distinct, dtype="str")).to_numpy(dtype=object, na_value=None)
    spread = np.append(result, np.array([None], dtype=object))[codes]  # code -1: missing
    return pd.Series(spread, index=column.index, dtype="str")


def find_duplicates(
    data: pd.DataFrame,
    *,
    email_field: str | None,
    name_fields: Sequence[str],
    company_field: str | None,
    gmail: bool,
    notes: list[str],
) -> tuple[DuplicateGroup, ...]:
    """Groups sharing a normalised email, then groups sharing a normalised name and company;
    a check the frame lacks the fields for is skipped and named in ``notes``."""
    groups: list[DuplicateGroup] = []
    if email_field and email_field in data.columns:
        keys = normalise_email(data[email_field], gmail)
        groups += _groups("email", keys)
    else:
        notes.append(f'duplicates by email skipped: no "{email_field}" field')
    needed = [*name_fields, company_field]
    absent = [name for name in needed if name is None or name not in data.columns]
    if absent:
        quoted = ", ".join(f'"{name}"' for name in absent)
        notes.append(f"duplicates by name and company skipped: no {quoted} field")
    else:
        parts = [data[field].astype("str").fillna("") for field in name_fields]
        name = functools.reduce(lambda left, right: left + " " + right, parts)
        keys = normalise_name(name) + " | " + normalise_company(data[company_field])
        groups += _groups("name_company", keys)
    return tuple(groups)


def _groups(kind: Literal["email", "name_company"], keys: pd.Series) -> list[DuplicateGroup]:
    """Groups of contacts sharing a key, by key; members in frame order."""
    keys = keys.dropna()
    repeated = keys[keys.duplicated(keep=False)]
    if repeated.empty:
        return []
    values = repeated.to_numpy(dtype=object)
    ids = repeated.index.astype(str).to_numpy(dtype=object)
    order = np.argsort(values.astype(str), kind="stable")
    values, ids = values[order], ids[order]
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    return [
        DuplicateGroup(kind, str(values[start]), tuple(members))
        for start, members in zip(starts, np.split(ids, starts[1:]), strict=False)
    ]
