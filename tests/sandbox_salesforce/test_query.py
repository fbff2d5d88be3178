"""The Salesforce sandbox's SOQL queries: paging, filters, order, limits and refusals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.sandbox import SalesforceSandbox
from connectors.sandbox.salesforce.ids import normalise
from tests.support.salesforce_rest import SF_DATETIME, contact

NO_SUCH_COLUMN = (
    "No such column '{name}' on entity 'Contact'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
    "the describe call for the appropriate names."
)


def test_query_all_iter_pages_through_every_record_once(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    ids = box.seed_contacts(2600, seed=7)

    first = sf.query("SELECT Id, Email FROM Contact")
    assert (first["totalSize"], first["done"], len(first["records"])) == (2600, False, 2000)
    assert re.fullmatch(
        r"/services/data/v59\.0/query/01g[0-9A-Za-z]{15}-2000", first["nextRecordsUrl"]
    )
    assert first["records"][0]["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v59.0/sobjects/Contact/{ids[0]}",
    }
    assert list(first["records"][0]) == ["attributes", "Id", "Email"]

    seen = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM Contact ORDER BY Id")]
    assert seen == ids and len(set(seen)) == 2600
    assert all(i.startswith("003") and len(i) == 18 and normalise(i[:15]) == i for i in ids)

    small = [
        r["Id"]
        for r in sf.query_all_iter(
            "SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"}
        )
    ]
    assert small == ids
    assert box.calls["GET /services/data/{version}/query/{locator}"] == 1 + 5


def test_soql_filters_orders_and_limits_like_salesforce(
    box: SalesforceSandbox, sf: Salesforce
) -> None:
    ada = contact(
        sf,
        LastName="Lovelace",
        FirstName="Ada",
        Email="ada@acme.com",
        Employees__c=250,
        Lifecycle_Stage__c="Customer",
    )
    alan = contact(
        sf,
        LastName="Turing",
        Email="alan@bletchley.org",
        Employees__c=90,
        Lifecycle_Stage__c="Lead",
    )
    grace = contact(
        sf,
        LastName="Hopper",
        FirstName="Grace",
        Email="GRACE@ACME.COM",
        Employees__c=120,
        Lifecycle_Stage__c="Lead",
    )
    box.store.delete("Contact", alan)
    edsger = contact(sf, LastName="Dijkstra", Employees__c=500)

    def names(soql: str) -> list[str]:
        return [r["LastName"] for r in sf.query_all(soql)["records"]]

    assert names(
        "SELECT LastName FROM Contact WHERE Employees__c >= 100 AND "
        "(Lifecycle_Stage__c = 'customer' OR Email LIKE '%@acme.com') "
        "ORDER BY LastName DESC"
    ) == ["Lovelace", "Hopper"]
    assert names(
        "SELECT LastName FROM Contact ORDER BY FirstName NULLS LAST, LastName LIMIT 3"
    ) == ["Lovelace", "Hopper", "Dijkstra"]
    assert names("SELECT LastName FROM Contact WHERE FirstName != 'Ada' ORDER BY LastName") == [
        "Dijkstra",
        "Hopper",
    ]  # != matches nulls, as in SOQL
    assert names(
        format_soql(
            "SELECT LastName FROM Contact WHERE Id IN {ids} ORDER BY Id",
            ids=[edsger, grace[:15], ada],
        )
    ) == ["Lovelace", "Hopper", "Dijkstra"]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert names(
        format_soql(
            "SELECT LastName FROM Contact WHERE SystemModstamp < {t} AND "
            "(NOT Email = null) ORDER BY Email",
            t=later,
        )
    ) == ["Lovelace", "Hopper"]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 3
    deleted = sf.query_all(
        "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true", include_deleted=True
    )["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in deleted] == [(alan, True)]

    [row] = sf.query(
        format_soql(
            "SELECT Name, SystemModstamp, Employees__c, Account.Name FROM Contact WHERE Id = {id}",
            id=ada,
        )
    )["records"]
    assert row["Name"] == "Ada Lovelace" and row["Employees__c"] == 250.0
    assert row["Account"] is None and SF_DATETIME.match(row["SystemModstamp"])


def test_rejected_queries_raise_with_salesforces_bodies(sf: Salesforce) -> None:
    cases = {
        "SELECT Asdf FROM Contact": (
            "INVALID_FIELD",
            "\nSELECT Asdf FROM Contact\n       ^\n"
            "ERROR at Row:1:Column:8\n" + NO_SUCH_COLUMN.format(name="Asdf"),
        ),
        "SELECT Id FROM Contact WHERE": (
            "MALFORMED_QUERY",
            "\nSELECT Id FROM Contact WHERE\n"
            + " " * 28
            + "^\nERROR at Row:1:Column:29\nunexpected token: '<EOF>'",
        ),
        "SELECT Id FROM Contact WHERE Id = 'ZZZ'": (
            "INVALID_QUERY_FILTER_OPERATOR",
            "\nSELECT Id FROM Contact WHERE Id = 'ZZZ'\n"
            + " " * 29
            + "^\nERROR at Row:1:Column:30\ninvalid ID field: ZZZ",
        ),
        "SELECT Id FROM Contact WHERE Email = 'a' AND Title = 'b' OR Title = 'c'": (
            "MALFORMED_QUERY",
            "\nWHERE Email = 'a' AND Title = 'b' OR Title = 'c'\n"
            + " " * 34
            + "^\nERROR at Row:1:Column:58\nunexpected token: 'OR'",
        ),
        "SELECT Id FROM Contact WHERE SystemModstamp > '2024-01-01T00:00:00Z'": (
            "INVALID_FIELD",
            "\nSELECT Id FROM Contact WHERE SystemModstamp >\n"
            + " " * 29
            + "^\nERROR at Row:1:Column:30\nvalue of filter criterion for field "
            "'SystemModstamp' must be of type dateTime and should not be enclosed in quotes",
        ),
    }
    for soql, (code, message) in cases.items():
        with pytest.raises(SalesforceMalformedRequest) as raised:
            sf.query(soql)
        assert raised.value.status == 400
        assert raised.value.content == [{"message": message, "errorCode": code}], soql
