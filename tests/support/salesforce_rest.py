"""The sandbox org through ``simple-salesforce``: a client, and short-hands for the calls
the sandbox tests repeat."""

from __future__ import annotations

import re
from typing import Any

from simple_salesforce import Salesforce

from connectors.sandbox import SalesforceSandbox

SF_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
COLLECTIONS = "composite/sobjects"


def client(box: SalesforceSandbox) -> Salesforce:
    return Salesforce(
        instance_url=box.instance_url,
        session_id=box.session_id,
        session=box.requests_session(),
        version="59.0",
    )


def contact(sf: Salesforce, **values: Any) -> str:
    return str(sf.Contact.create(values)["id"])


def update(sf: Salesforce, *records: dict[str, Any], all_or_none: bool = False) -> Any:
    return sf.restful(
        COLLECTIONS,
        method="PATCH",
        json={
            "allOrNone": all_or_none,
            "records": [{"attributes": {"type": "Contact"}, **r} for r in records],
        },
    )


def error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {
        "success": False,
        "errors": [{"statusCode": code, "message": message, "fields": fields or []}],
    }
