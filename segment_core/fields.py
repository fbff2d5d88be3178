"""The field types a CRM reports for contact fields.

The same vocabulary as ``connectors.base.FieldType``; it is repeated here because segment_core is
a pure library that must not depend on the connectors.
"""

from __future__ import annotations

from typing import Literal, get_args

FieldType = Literal[
    "string", "number", "bool", "date", "datetime", "enumeration", "multi_enumeration"
]

FIELD_TYPES: tuple[FieldType, ...] = get_args(FieldType)

EXPECTED_VALUE: dict[str, str] = {
    "string": "a string",
    "enumeration": "a string",
    "multi_enumeration": 'a single option (a string without ";")',
    "number": "a number",
    "bool": "true or false",
    "date": 'a date such as "2024-05-01"',
    "datetime": 'a datetime such as "2024-05-01T12:34:56Z"',
}
"""How error messages name what a value of each type must look like, by type name (the
problems of a coerced frame name the type as text)."""

NUMERIC_TYPES: tuple[FieldType, ...] = ("number", "bool")
"""The types a cluster set's numeric features may have."""
CATEGORICAL_TYPES: tuple[FieldType, ...] = ("string", "enumeration", "bool")
"""The types a cluster set's categorical features may have."""
