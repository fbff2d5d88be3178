"""The Salesforce sandbox's seeded records, recycle bin, describe, and login proxy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceLogin, format_soql
from simple_salesforce.exceptions import SalesforceResourceNotFound

from connectors.sandbox import SalesforceSandbox
from tests.support.salesforce_rest import SF_DATETIME


def test_seeded_people_and_the_recycle_bin(box: SalesforceSandbox, sf: Salesforce) -> None:
    leads = box.seed_contacts(40, seed=3, sobject="Lead")
    contacts = box.seed_contacts(40, seed=3)
    lead = box.store.record("Lead", leads[0])
    person = box.store.record("Contact", contacts[0])
    assert leads[0].startswith("00Q") and contacts[0].startswith("003")
    assert lead["Email"] == person["Email"] and lead["Company"]
    assert (
        SF_DATETIME.match(lead["CreatedDate"])
        and lead["LastModifiedDate"] >= lead["CreatedDate"]
        and lead["CreatedDate"] < "2025-07-01"
    )
    [row] = sf.query(format_soql("SELECT Account.Name FROM Contact WHERE Id = {i}", i=contacts[0]))[
        "records"
    ]
    assert row["Account"]["Name"] == lead["Company"]

    start = datetime.now(UTC) - timedelta(minutes=1)
    sf.Contact.delete(contacts[1])
    box.store.delete("Contact", contacts[2])
    deleted = sf.Contact.deleted(start, datetime.now(UTC) + timedelta(minutes=1))
    assert [d["id"] for d in deleted["deletedRecords"]] == contacts[1:3]
    with pytest.raises(SalesforceResourceNotFound) as raised:
        sf.Contact.get(contacts[1])
    assert raised.value.content == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}
    ]
    box.store.set_fields("Contact", contacts[0], {"Title": "Chief Person"})
    assert sf.Contact.get(contacts[0])["Title"] == "Chief Person"


def test_describe_reports_salesforce_types(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    types = {
        name: fields[name]["type"]
        for name in (
            "Id",
            "AccountId",
            "Email",
            "HasOptedOutOfEmail",
            "Employees__c",
            "Total_Revenue__c",
            "Last_Activity__c",
            "Last_Purchase_Date__c",
            "Lifecycle_Stage__c",
            "Phone",
        )
    }
    assert types == {
        "Id": "id",
        "AccountId": "reference",
        "Email": "email",
        "HasOptedOutOfEmail": "boolean",
        "Employees__c": "double",
        "Total_Revenue__c": "currency",
        "Last_Activity__c": "datetime",
        "Last_Purchase_Date__c": "date",
        "Lifecycle_Stage__c": "picklist",
        "Phone": "phone",
    }
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["LeadSource"]["restrictedPicklist"] is False
    assert sf.Lead.describe()["keyPrefix"] == "00Q"


def test_proxy_tunnels_login_hosts_for_clients_with_their_own_session(
    box: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", box.proxy_url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_path)  # overrides session.verify anyway
    session_id, instance = SalesforceLogin(
        username=box.username,
        password=box.password,
        security_token=box.security_token,
        domain="test",
        session=requests.Session(),
    )
    assert instance == box.instance
    sf = Salesforce(session_id=session_id, instance=instance, session=requests.Session())
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("https://example.com/", timeout=5)
