"""HubSpot contact properties: the field list in segsync's types, and segsync's own
properties created (in their own group) or given the options they lack."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from connectors.base import (
    FieldInfo,
    FieldOwner,
    FieldType,
    NotFound,
    RequestRejected,
    SegmentField,
)
from connectors.hubspot.calls import HubSpotCalls

PROPERTY_GROUP = "segsync"
"""segsync creates its properties in this group: with ``hubspotDefined`` false, that is how
a property is known to be segsync's, whatever the state store remembers."""
PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""HubSpot's rule for property internal names (it answers 400 to ``Segsync_Segment``)."""
FIELD_TYPES_BY_KIND = {
    "single_select": ("enumeration", "select"),
    "multi_select": ("enumeration", "checkbox"),
    "text": ("string", "textarea"),
    "date": ("date", "date"),
}


def _field_type(hubspot_type: str, field_type: str) -> FieldType:
    """HubSpot's (type, fieldType) pair in segsync's vocabulary.

    A checkbox enumeration is multi-select; a ``booleancheckbox`` enumeration (such as
    ``hs_email_optout``) holds "true"/"false" and is a boolean.
    """
    if field_type == "booleancheckbox":
        return "bool"
    if hubspot_type == "enumeration":
        return "multi_enumeration" if field_type == "checkbox" else "enumeration"
    if hubspot_type in ("number", "bool", "date", "datetime"):
        return hubspot_type  # type: ignore[return-value]
    return "string"


def _defined_by(prop: Any) -> FieldOwner:
    """HubSpot's own properties say ``hubspotDefined``; segsync's live in its own group."""
    if prop.hubspot_defined:
        return "crm"
    return "segsync" if prop.group_name == PROPERTY_GROUP else "other"


def _property_name_like(name: str) -> str:
    """A valid property name close to ``name``, to suggest in an error."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    return cleaned if cleaned[:1].isalpha() else f"segsync_{cleaned}".rstrip("_")


def field_name_problem(name: str) -> str | None:
    """Why HubSpot would refuse ``name`` for a new property (``capabilities.FieldNaming``)."""
    if PROPERTY_NAME.fullmatch(name):
        return None
    return (
        "HubSpot property names are lower-case letters, digits and underscores, starting "
        f"with a letter (e.g. {_property_name_like(name)})"
    )


def _options(values: Sequence[str], first_order: int = 0) -> list[dict[str, Any]]:
    return [
        {"label": value, "value": value, "hidden": False, "displayOrder": order}
        for order, value in enumerate(values, start=first_order)
    ]


def _extended_options(current: Sequence[Any], wanted: Sequence[str]) -> list[dict[str, Any]]:
    """The property's options as they are, with the ``wanted`` values it lacks appended.

    A PATCH replaces the whole option list, so every existing option is sent back exactly as
    HubSpot holds it: a label, hidden flag, description or order an admin edited stays.
    """
    kept = [
        {
            "label": option.label,
            "value": option.value,
            "description": option.description or "",
            "hidden": bool(option.hidden),
            "displayOrder": option.display_order,
        }
        for option in current
    ]
    present = {option["value"] for option in kept}
    orders = [o["displayOrder"] for o in kept if isinstance(o["displayOrder"], int)]
    missing = [value for value in wanted if value not in present]
    return kept + _options(missing, first_order=max(orders, default=-1) + 1)


class ContactProperties:
    """The contact properties of one connector, through the properties and groups APIs."""

    def __init__(self, calls: HubSpotCalls, properties_api: Any, groups_api: Any) -> None:
        self._calls = calls
        self._properties = properties_api
        self._groups = groups_api
        self._group_ready = False

    def describe(self) -> list[FieldInfo]:
        data = self._calls.call(
            "read contact properties", self._properties.get_all_with_http_info, "contacts"
        )
        return [
            FieldInfo(
                name=prop.name,
                label=prop.label,
                type=_field_type(prop.type, prop.field_type),
                options=tuple(option.value for option in prop.options or ()),
                defined_by=_defined_by(prop),
                option_labels=tuple(
                    (option.value, option.label) for option in prop.options or () if option.label
                ),
            )
            for prop in data.results
        ]

    def ensure(self, spec: SegmentField) -> None:
        """A field the plan saw missing is created straight away (one call, not a read first);
        when it exists after all (created since, or a retry after a lost answer: 409), it is
        read and its options extended like any existing field."""
        self._ensure_group()
        if spec.missing and self._created(spec):
            return
        try:
            existing = self._calls.call(
                f"read property {spec.name}",
                self._properties.get_by_name_with_http_info,
                "contacts",
                spec.name,
            )
        except NotFound:
            existing = None
        if existing is None:
            self._create(spec)
            return
        present = {option.value for option in existing.options or ()}
        if spec.is_select and not set(spec.options) <= present:
            self._calls.call(
                f"add options to property {spec.name}",
                self._properties.update_with_http_info,
                "contacts",
                spec.name,
                {"options": _extended_options(existing.options or (), spec.options)},
            )

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self._calls.call(
                "create property group",
                self._groups.create_with_http_info,
                "contacts",
                {"name": PROPERTY_GROUP, "label": "segsync", "displayOrder": -1},
            )
        except RequestRejected as exc:
            if exc.status != 409:  # 409: the group exists already
                raise
        self._group_ready = True

    def _created(self, spec: SegmentField) -> bool:
        """Create the property; False when the CRM says the name is taken (409)."""
        try:
            self._create(spec)
        except RequestRejected as exc:
            if exc.status != 409:
                raise
            return False
        return True

    def _create(self, spec: SegmentField) -> None:
        hubspot_type, field_type = FIELD_TYPES_BY_KIND[spec.kind]
        body: dict[str, Any] = {
            "name": spec.name,
            "label": spec.label,
            "description": spec.description,
            "groupName": PROPERTY_GROUP,
            "type": hubspot_type,
            "fieldType": field_type,
        }
        if spec.is_select:
            body["options"] = _options(spec.options)
        self._calls.call(
            f"create property {spec.name}",
            self._properties.create_with_http_info,
            "contacts",
            body,
        )
