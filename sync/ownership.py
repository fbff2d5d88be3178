"""segsync writes only its own fields.

``segment_property``, ``segments_property`` and ``reason_property`` (and, when set,
``previous_segment_property`` and ``segment_changed_property``) name the contact fields a sync
overwrites. Pointed at a field segsync did not create (HubSpot's
``city``, a select someone else maintains), a sync would overwrite customer data or add
segment names as options of someone else's field. So before anything is written, in a real
run, a dry run and ``segsync check`` alike, each of them must either be missing (then it
must be a name the CRM accepts, and the first sync creates it) or be a field the CRM says
segsync created, of the kind segsync writes. Who created a field is read from the CRM
(``FieldInfo.defined_by``), never from the state store, so a fresh store is just as safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from connectors.base import Connector, FieldInfo, FieldType, SegmentFieldKind
from connectors.capabilities import FieldNaming
from sync.config import ConfigError, Settings, SyncOptions
from sync.plan import keyed_segment_fields

KIND_TYPES: dict[SegmentFieldKind, FieldType] = {
    "single_select": "enumeration",
    "multi_select": "multi_enumeration",
    "text": "string",
    "date": "date",
}
"""The field type segsync's field of each kind reads as."""
KIND_NAMES: dict[SegmentFieldKind, str] = {
    "single_select": "a single select",
    "multi_select": "a multi select",
    "text": "text",
    "date": "a date",
}
OWNERS = {
    "crm": "a field the CRM itself defines",
    "other": "a field segsync did not create (another app's or a person's)",
}

NameRule = Callable[[str], str | None]


def sync_field_problems(
    options: SyncOptions, fields: Mapping[str, FieldInfo], name_problem: NameRule
) -> list[str]:
    """One line per segsync field that a sync must not write: it names the config key, the
    field and why. ``fields`` is the CRM's field list; ``name_problem`` the CRM's name rule.

    Names are matched case-insensitively: Salesforce field names are, and HubSpot's are
    lower case only."""
    by_name = {name.casefold(): info for name, info in fields.items()}
    problems = []
    keys_by_name: dict[str, str] = {}
    for key, spec in keyed_segment_fields(options, ()):
        where = f"[sync] {key} = {spec.name!r}"
        existing = by_name.get(spec.name.casefold())
        first_key = keys_by_name.setdefault(spec.name.casefold(), key)
        if first_key != key:
            problems.append(
                f"{where} is the field {first_key} names already: give each of segsync's "
                "fields a name of its own"
            )
        elif existing is None:
            refused = name_problem(spec.name)
            if refused:
                problems.append(f"{where} is not a field name the CRM accepts: {refused}")
        elif existing.defined_by in OWNERS:
            problems.append(
                f"{where} is {OWNERS[existing.defined_by]}, and segsync writes only fields it "
                "created: set a name no field has yet, and the first sync creates it"
            )
        elif existing.type != KIND_TYPES[spec.kind]:
            problems.append(
                f"{where} is a field of type {existing.type}, but segsync writes "
                f"{KIND_NAMES[spec.kind]} there: set a name no field has yet"
            )
    return problems


def check_own_fields(
    settings: Settings, fields: Mapping[str, FieldInfo], connector: Connector
) -> None:
    """Raise ConfigError, naming the file, the key and the field, when a sync would write a
    field that is not segsync's or that the CRM would refuse to create."""
    problems = sync_field_problems(settings.sync, fields, _name_rule(connector))
    if problems:
        raise ConfigError(f"{settings.source}: {'; '.join(problems)}")


def _name_rule(connector: Connector) -> NameRule:
    """The connector's field-name rule; a connector without one accepts every name."""
    if isinstance(connector, FieldNaming):
        return connector.field_name_problem
    return lambda name: None
