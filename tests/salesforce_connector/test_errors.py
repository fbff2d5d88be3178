"""Salesforce connector errors: each error body Salesforce documents becomes the error that
says what to do next (pinned with ``responses``)."""

from __future__ import annotations

import math

import pytest
import requests
import responses

from connectors.base import (
    AuthFailed,
    NotFound,
    PropertyWrite,
    RateLimited,
    RequestRejected,
    Transient,
)
from connectors.salesforce import SalesforceConnector
from tests.support.salesforce_api import API, PERMISSION_MESSAGE, error


def test_the_daily_request_limit_is_rate_limited_for_the_day(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        **error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 403),
    )
    with pytest.raises(RateLimited) as caught:
        connector.find_list("segsync: Champions")
    assert (caught.value.scope, caught.value.retry_after) == ("daily", math.inf)
    assert str(caught.value) == (
        "Salesforce find campaign 'segsync: Champions': HTTP 403 REQUEST_LIMIT_EXCEEDED: "
        "TotalRequests Limit exceeded."
    )


def test_too_many_concurrent_long_requests_is_transient(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}query/",
        **error("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", 403),
    )
    with pytest.raises(Transient) as caught:
        connector.find_list("segsync: Champions")
    assert caught.value.retry_after == 20.0


def test_an_invisible_segsync_field_in_a_query_names_the_permission_to_grant(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    message = (
        "\nSELECT Id, SystemModstamp, Segment__c FROM Contact\n                           ^\n"
        "ERROR at Row:1:Column:28\nNo such column 'Segment__c' on entity 'Contact'. If you are "
        "attempting to use a custom field, be sure to append the '__c' after the custom field "
        "name. Please reference your WSDL or the describe call for the appropriate names."
    )
    mock.add("GET", f"{API}query/", json={"totalSize": 3, "done": True, "records": []})
    mock.add("GET", f"{API}query/", **error("INVALID_FIELD", message, 400))
    with pytest.raises(AuthFailed) as caught:
        connector.read_contacts_page(["Segment__c"], None)
    assert str(caught.value) == PERMISSION_MESSAGE


def test_an_invisible_segsync_field_in_a_write_names_the_permission_to_grant(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    invalid = {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_FIELD",
                "message": "No such column 'Segment__c' on sobject of type Contact",
                "fields": [],
            }
        ],
    }
    mock.add("PATCH", f"{API}composite/sobjects", json=[invalid, invalid])
    with pytest.raises(AuthFailed) as caught:
        connector.write_properties(
            [
                PropertyWrite("003A", {"Segment__c": "Champions"}),
                PropertyWrite("003B", {"Segment__c": ""}),
            ]
        )
    assert str(caught.value) == PERMISSION_MESSAGE


def test_a_malformed_query_is_rejected_with_salesforce_words(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    message = "unexpected token: 'FROM'"
    mock.add("GET", f"{API}query/", **error("MALFORMED_QUERY", message, 400))
    with pytest.raises(RequestRejected) as caught:
        connector.find_list("segsync: Champions")
    assert caught.value.status == 400
    assert str(caught.value) == (
        "Salesforce find campaign 'segsync: Champions': HTTP 400 MALFORMED_QUERY: "
        "unexpected token: 'FROM'"
    )


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId"),
        (503, "SERVER_UNAVAILABLE", "Server is unavailable. Please try again later."),
    ],
)
def test_server_errors_are_transient(
    mock: responses.RequestsMock,
    connector: SalesforceConnector,
    status: int,
    code: str,
    message: str,
) -> None:
    mock.add("GET", f"{API}sobjects/Contact/describe", **error(code, message, status))
    with pytest.raises(Transient) as caught:
        connector.describe_fields()
    assert str(caught.value) == f"Salesforce describe Contact: HTTP {status} {code}: {message}"


def test_dropped_connections_and_timeouts_are_transient(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    describe = f"{API}sobjects/Contact/describe"
    mock.add("GET", describe, body=requests.ConnectionError("reset by peer"))
    mock.add("GET", describe, body=requests.ReadTimeout("read timed out"))
    for name in ("ConnectionError", "ReadTimeout"):
        with pytest.raises(Transient) as caught:
            connector.describe_fields()
        assert str(caught.value) == f"Salesforce describe Contact: connection failed ({name})"


def test_a_missing_record_is_not_found(
    mock: responses.RequestsMock, connector: SalesforceConnector
) -> None:
    mock.add(
        "GET",
        f"{API}sobjects/Contact/describe",
        **error("NOT_FOUND", "The requested resource does not exist", 404),
    )
    with pytest.raises(NotFound, match="HTTP 404 NOT_FOUND: The requested resource"):
        connector.describe_fields()
