"""Creating and replacing an org's custom fields, for the Tooling and Metadata APIs alike.

Both APIs hand over ``CustomField`` metadata; ``field_metadata`` validates it and maps it to a
describe field, and ``define_field`` applies it to the store under the store's lock. Kept apart
from ``field_metadata`` because the store itself maps its own fields to metadata: the mapping
must not depend on the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from connectors.sandbox.salesforce.field_metadata import (
    FieldProblem,
    definition_of,
    normalise,
    split_full_name,
)
from connectors.sandbox.salesforce.store import CustomFieldRecord, SalesforceStore

Mode = Literal["create", "update", "upsert"]


def define_field(store: SalesforceStore, full_name: str, metadata: Mapping[str, Any],
                 mode: Mode) -> tuple[CustomFieldRecord, bool]:
    """Create (``create``), replace (``update``) or either (``upsert``) the custom field
    ``full_name`` from metadata; the field and whether it was created. A new field has no
    field-level security: it stays hidden until a FieldPermissions record grants it.

    DUPLICATE_DEVELOPER_NAME's text is Salesforce's ("There is already a field named ...",
    matched on by integrators); the missing-field text of ``update`` is sandbox text.
    """
    sobject, developer_name = split_full_name(full_name)
    with store.transaction():
        schema = store.schema(sobject)
        if schema is None or not schema.definition.custom_fields_allowed:
            raise FieldProblem("INVALID_CROSS_REFERENCE_KEY",
                               f"In field: fullName - no CustomObject named {sobject} found")
        existing = store.custom_field(f"{schema.name}.{developer_name}__c")
        if existing is not None and mode == "create":
            raise FieldProblem("DUPLICATE_DEVELOPER_NAME",
                               f"There is already a field named {developer_name} on "
                               f"{schema.name}.")
        if existing is None and mode == "update":
            raise FieldProblem("INVALID_CROSS_REFERENCE_KEY",
                               f"In field: fullName - no CustomField named {full_name} found")
        typed = {k: v for k, v in normalise(metadata).items() if k != "fullName"}
        definition = definition_of(developer_name, typed)
        record = store.put_custom_field(schema.name, developer_name, typed, definition)
        return record, existing is None
