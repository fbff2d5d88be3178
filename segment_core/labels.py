"""The CRM's words for its fields and their options, given to segment_core by its caller.

A CRM names a field, and each option of an enumeration, twice: the internal value rules and
the API use (``lifecyclestage``, ``marketingqualifiedlead``) and the label people see
("Lifecycle Stage", "Marketing Qualified Lead"). Cluster profiles, generated cluster names
and the reasons a sales rep reads use the labels. segment_core never asks a CRM for them: the
caller passes ``CrmLabels``, plain mappings, so segmentation stays a pure function of its
inputs. Labels are CRM text, so untrusted: they come out ``printable`` (``segment_core.text``),
cut to ``MAX_LABEL_LENGTH``, and a label that cleans to nothing is no label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from segment_core.text import printable

MAX_LABEL_LENGTH = 30
"""The longest label shown: three traits of such labels still make a short cluster name."""


@dataclass(frozen=True)
class CrmLabels:
    """``fields``: field name -> its label; ``options``: (field name, option value) -> the
    option's label. Either may lack an entry: the name or value is then shown as it is."""

    fields: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def field_label(self, name: str) -> str | None:
        """The CRM's label of field ``name``, made printable, or None when it has none."""
        return _clean(self.fields.get(name))

    def option_label(self, field_name: str, value: str) -> str | None:
        """The CRM's label of option ``value`` of ``field_name``, made printable, or None when
        it has none (a free-text field's values have none)."""
        return _clean(self.options.get((field_name, value)))


NO_LABELS = CrmLabels()
"""No labels known: fields read as their names, options as their values."""


def _clean(label: str | None) -> str | None:
    """``label`` made printable; None when there is none, or nothing printable in it."""
    return (printable(label, MAX_LABEL_LENGTH) or None) if label else None
