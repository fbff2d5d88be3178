"""The two SOAP endpoints simple-salesforce uses: partner ``login`` and the Metadata API.

Login (``POST /services/Soap/u/{version}``) is what ``Salesforce(username=, password=,
security_token=)`` and ``SalesforceLogin`` send; simple-salesforce reads ``sessionId`` and
``serverUrl`` from the answer (the instance is ``serverUrl``'s host) and, on failure, the
``sf:exceptionCode``/``sf:exceptionMessage`` of a ``LoginFault``. Shapes follow Salesforce's
partner WSDL (LoginResult) and published login responses; the INVALID_LOGIN text is
Salesforce's. ``login()`` is unavailable from API 65.0 (Salesforce Help article 005132110, "SOAP
API login() retirement"): it answers the ``INVALID_OPERATION`` fault clients report
(forcedotcom/wsc issue #363), whatever the credentials.

The Metadata API (``POST /services/Soap/m/{version}``) is driven by zeep from
simple-salesforce's bundled WSDL (``sf.mdapi.CustomField.create/read/update/upsert/delete``);
the session travels in the ``SessionHeader``, not in an Authorization header, and a bad one is a
SOAP fault ``sf:INVALID_SESSION_ID`` (HTTP 500). Results are ``SaveResult``/``UpsertResult``/
``DeleteResult``/``ReadResult`` as the WSDL defines them. Note that zeep makes its own HTTP
session, so ``mdapi`` ignores the ``session`` given to ``Salesforce`` (simple-salesforce issue
#686): a client must trust the sandbox CA through ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from connectors.sandbox.salesforce.auth import Credentials, Sessions
from connectors.sandbox.salesforce.custom_fields import Mode, define_field
from connectors.sandbox.salesforce.field_metadata import FieldProblem
from connectors.sandbox.salesforce.schema import ORG_ID
from connectors.sandbox.salesforce.store import SalesforceStore
from connectors.sandbox.server import Request, Response, Router

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
PARTNER_FAULT = "urn:fault.partner.soap.sforce.com"
METADATA = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_CONTENT_TYPE = "text/xml;charset=UTF-8"
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
FIRST_VERSION_WITHOUT_LOGIN = 65.0
SAVE_OPERATIONS: dict[str, Mode] = {"createMetadata": "create", "updateMetadata": "update",
                                    "upsertMetadata": "upsert"}
FIELD_ORDER = ("fullName", "label", "type", "length", "precision", "scale", "visibleLines",
               "required", "defaultValue", "valueSet")
"""Element order of a CustomField in readMetadata results (zeep is told to ignore order, but
the WSDL's order is kept for any stricter client)."""

Gate = Callable[[str], str | None]
"""Decides on a session id: None to proceed, or the fault code that refuses the call."""

ET.register_namespace("soapenv", SOAPENV)
ET.register_namespace("xsi", XSI)


class SoapApi:
    """Login and Metadata API handlers."""

    def __init__(self, store: SalesforceStore, sessions: Sessions, credentials: Credentials,
                 instance: Callable[[], str], gate: Gate) -> None:
        self._store = store
        self._sessions = sessions
        self._credentials = credentials
        self._instance = instance
        self._gate = gate

    def register(self, router: Router) -> None:
        """Add the SOAP routes (no Authorization header: they carry their own credentials)."""
        router.add("POST", "/services/Soap/u/{soapVersion}", self.login)
        router.add("POST", "/services/Soap/m/{soapVersion}", self.metadata)

    # -- partner login ---------------------------------------------------------------------

    def login(self, request: Request) -> Response:
        """``login(username, password+token)`` → a new session and the instance's URLs."""
        version = request.params["soapVersion"]
        if _version_number(version) >= FIRST_VERSION_WITHOUT_LOGIN:
            return _login_fault("INVALID_OPERATION",
                                f"The SOAP Login operation is not available in the API version "
                                f"specified ({version}). Refer to the documentation for "
                                "supported versions.")
        body = _parse(request.body)
        username = _text(body, "username") if body is not None else None
        password = _text(body, "password") if body is not None else None
        if username is None or password is None or not self._credentials.accepts(username,
                                                                                  password):
            return _login_fault("INVALID_LOGIN", INVALID_LOGIN)
        session_id = self._sessions.issue()
        base = f"https://{self._instance()}/services/Soap"
        result = {
            "metadataServerUrl": f"{base}/m/{version}/{ORG_ID[:15]}",
            "passwordExpired": "false", "sandbox": "false",
            "serverUrl": f"{base}/u/{version}/{ORG_ID[:15]}",
            "sessionId": session_id, "userId": self._store.user_id,
        }
        envelope = ET.Element(f"{{{SOAPENV}}}Envelope")
        response = ET.SubElement(ET.SubElement(envelope, f"{{{SOAPENV}}}Body"),
                                 f"{{{PARTNER}}}loginResponse")
        result_element = ET.SubElement(response, f"{{{PARTNER}}}result")
        for key, value in result.items():
            ET.SubElement(result_element, f"{{{PARTNER}}}{key}").text = value
        info = ET.SubElement(result_element, f"{{{PARTNER}}}userInfo")
        for key, value in (("organizationId", ORG_ID), ("userId", self._store.user_id),
                           ("userName", self._credentials.username),
                           ("sessionSecondsValid", "7200")):
            ET.SubElement(info, f"{{{PARTNER}}}{key}").text = value
        return _xml(200, envelope, PARTNER)

    # -- Metadata API ----------------------------------------------------------------------

    def metadata(self, request: Request) -> Response:
        """One Metadata API call: create/read/update/upsert/deleteMetadata of CustomField."""
        envelope = _parse(request.body)
        body = envelope.find(f"{{{SOAPENV}}}Body") if envelope is not None else None
        call = body[0] if body is not None and len(body) else None
        if envelope is None or call is None:
            return _fault("sf:INVALID_XML", "INVALID_XML: the request is not a SOAP envelope")
        refusal = self._gate(_text(envelope, "sessionId") or "")
        if refusal is not None:
            message = ("Invalid Session ID found in SessionHeader: Illegal Session"
                       if refusal == "INVALID_SESSION_ID" else "TotalRequests Limit exceeded.")
            return _fault(f"sf:{refusal}", f"{refusal}: {message}")
        operation = _local(call.tag)
        if operation in SAVE_OPERATIONS:
            results = [self._save(_to_dict(m), SAVE_OPERATIONS[operation])
                       for m in call if _local(m.tag) == "metadata"]
        elif operation in ("readMetadata", "deleteMetadata"):
            kind = _text(call, "type")
            names = [n.text or "" for n in call if _local(n.tag) == "fullNames"]
            if kind != "CustomField":
                return _unsupported(f"{operation} of {kind or 'no type'}")
            if operation == "readMetadata":
                return self._read(names)
            results = [self._delete(name) for name in names]
        else:
            return _unsupported(operation)
        return _metadata_response(f"{operation}Response", results)

    def _save(self, metadata: dict[str, Any], mode: Mode) -> list[tuple[str, Any]]:
        full_name = str(metadata.get("fullName", ""))
        try:
            _, created = define_field(self._store, full_name, metadata, mode)
        except FieldProblem as problem:
            fields: list[tuple[str, Any]] = [("errors", [("message", problem.message),
                                                         ("statusCode", problem.status_code)]),
                                             ("fullName", full_name), ("success", "false")]
            return ([("created", "false")] if mode == "upsert" else []) + fields
        outcome = [("fullName", full_name), ("success", "true")]
        return ([("created", "true" if created else "false")] if mode == "upsert" else []) \
            + outcome

    def _delete(self, full_name: str) -> list[tuple[str, Any]]:
        record = self._store.custom_field(full_name)
        if record is None:
            return [("errors", [("message", f"No CustomField named {full_name} found"),
                                ("statusCode", "INVALID_CROSS_REFERENCE_KEY")]),
                    ("fullName", full_name), ("success", "false")]
        self._store.delete_custom_field(record)
        return [("fullName", full_name), ("success", "true")]

    def _read(self, names: list[str]) -> Response:
        envelope, response = _envelope("readMetadataResponse")
        result = ET.SubElement(response, f"{{{METADATA}}}result")
        for name in names:
            record = self._store.custom_field(name)
            element = ET.SubElement(result, f"{{{METADATA}}}records",
                                    {f"{{{XSI}}}type": "CustomField"})
            if record is None:
                continue  # an unknown name reads as an empty record (every value null)
            ordered = {"fullName": record.full_name, **record.metadata}
            for key in sorted(ordered, key=lambda k: (FIELD_ORDER.index(k)
                                                      if k in FIELD_ORDER else len(FIELD_ORDER))):
                _append(element, key, ordered[key])
        return _xml(200, envelope, METADATA)


def _metadata_response(name: str, results: list[list[tuple[str, Any]]]) -> Response:
    envelope, response = _envelope(name)
    for result in results:
        element = ET.SubElement(response, f"{{{METADATA}}}result")
        for key, value in result:
            _append(element, key, value)
    return _xml(200, envelope, METADATA)


def _envelope(response_name: str) -> tuple[ET.Element, ET.Element]:
    envelope = ET.Element(f"{{{SOAPENV}}}Envelope")
    body = ET.SubElement(envelope, f"{{{SOAPENV}}}Body")
    return envelope, ET.SubElement(body, f"{{{METADATA}}}{response_name}")


def _append(parent: ET.Element, key: str, value: Any) -> None:
    """``value`` under ``parent`` as metadata XML: lists repeat the element, mappings and
    pair lists nest, booleans are ``true``/``false``."""
    if isinstance(value, list) and value and not isinstance(value[0], tuple):
        for item in value:
            _append(parent, key, item)
        return
    element = ET.SubElement(parent, f"{{{METADATA}}}{key}")
    if isinstance(value, Mapping):
        value = list(value.items())
    if isinstance(value, list):
        for child_key, child_value in value:
            _append(element, child_key, child_value)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def _to_dict(element: ET.Element) -> dict[str, Any]:
    """Metadata XML as a dict: repeated elements become lists, leaves their text."""
    result: dict[str, Any] = {}
    for child in element:
        key = _local(child.tag)
        value: Any = _to_dict(child) if len(child) else (child.text or "")
        if key in result:
            existing = result[key]
            result[key] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            result[key] = value
    return result


def _parse(body: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        return None


def _text(root: ET.Element, local_name: str) -> str | None:
    found = next((e for e in root.iter() if _local(e.tag) == local_name), None)
    return found.text or "" if found is not None else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(status: int, envelope: ET.Element, namespace: str | None = None) -> Response:
    """The envelope as UTF-8 XML; ``namespace`` becomes the unprefixed default, as Salesforce
    writes it (simple-salesforce looks ``sessionId`` up by its unprefixed name, and
    ``xsi:type="CustomField"`` must resolve to the metadata namespace)."""
    body = ET.tostring(envelope, encoding="unicode", default_namespace=namespace)
    return Response(status=status, body=b'<?xml version="1.0" encoding="UTF-8"?>'
                    + body.encode(), content_type=XML_CONTENT_TYPE)


def _fault(code: str, message: str) -> Response:
    """A SOAP fault (HTTP 500), as Salesforce answers Metadata API failures."""
    envelope = ET.Element(f"{{{SOAPENV}}}Envelope")
    fault = ET.SubElement(ET.SubElement(envelope, f"{{{SOAPENV}}}Body"), f"{{{SOAPENV}}}Fault")
    ET.SubElement(fault, "faultcode").text = code
    ET.SubElement(fault, "faultstring").text = message
    return _xml(500, envelope)


def _unsupported(what: str) -> Response:
    """A call the sandbox does not model (sandbox text)."""
    return _fault("sf:INVALID_OPERATION", f"INVALID_OPERATION: the sandbox does not serve {what}")


def _version_number(version: str) -> float:
    """``64.0`` → 64.0; an unreadable version counts as 0 (older than any)."""
    try:
        return float(version)
    except ValueError:
        return 0.0


def _login_fault(code: str, message: str) -> Response:
    """Salesforce's LoginFault: simple-salesforce reads ``sf:exceptionCode`` and
    ``sf:exceptionMessage`` by their prefixed names, so the ``sf`` prefix is kept literal."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:sf="{PARTNER_FAULT}" '
        f'xmlns:xsi="{XSI}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode>"
        f"<faultstring>{code}: {message}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{message}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(status=500, body=body.encode(), content_type=XML_CONTENT_TYPE)
