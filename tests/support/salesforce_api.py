"""Salesforce's documented answers, canned for ``responses``, and readers of the requests the
connector sent."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

from pydantic import SecretStr

from connectors.salesforce import SalesforceSettings

INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v59.0/"
LOGIN = "https://login.salesforce.com/services/Soap/u/59.0"
STAMP = "2024-05-01T10:00:00.000+0000"
PERMISSION_MESSAGE = (
    "Salesforce field Contact.Segment__c is not visible to the integration user: grant Read and "
    "Edit on Contact.Segment__c to permission set Segsync_Integration (Setup → Permission Sets "
    "→ Segsync_Integration → Object Settings → Contacts → Edit → Field Permissions)."
)


def login_xml(session_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
        f"<serverUrl>{INSTANCE}/services/Soap/u/59.0/00D000000000001</serverUrl>"
        f"<sessionId>{session_id}</sessionId></result></loginResponse></soapenv:Body>"
        "</soapenv:Envelope>"
    )


def error(code: str, message: str, status: int, fields: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return {"json": [body], "status": status}


def record(contact_id: str, **values: Any) -> dict[str, Any]:
    return {
        "attributes": {
            "type": "Contact",
            "url": f"/services/data/v59.0/sobjects/Contact/{contact_id}",
        },
        "Id": contact_id,
        "SystemModstamp": STAMP,
        **values,
    }


def query_params(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(str(call.request.url)).query)


def soql(call: Any) -> str:
    return query_params(call)["q"][0]


def body(call: Any) -> Any:
    return json.loads(call.request.body)


def settings(**overrides: Any) -> SalesforceSettings:
    values: dict[str, Any] = {
        "instance_url": INSTANCE,
        "session_id": SecretStr("00Dsession"),
        "permission_set": "Segsync_Integration",
        "timeout_seconds": 7,
    }
    return SalesforceSettings(**(values | overrides))
