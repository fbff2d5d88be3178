"""The seed generator's people as Salesforce Contacts (with their Accounts) or Leads.

``generate_contacts`` makes realistic B2B data in HubSpot's property vocabulary; this maps each
row onto Salesforce's fields so the same people, with the same mess (missing values, case
variants, duplicates), exist on both sandboxes and the same segments can be run on either.
Firmographics live on the Lead itself and, for Contacts, on the Account and in the Contact's
own custom fields (what segments read). A missing last name becomes "[not provided]", as
Salesforce's web-to-lead does, since Salesforce requires one.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from connectors.sandbox.salesforce.schema import LEAD_SOURCES
from connectors.sandbox.salesforce.store import SalesforceStore
from connectors.sandbox.salesforce.values import parse_datetime
from connectors.sandbox.seed import DEFAULT_REFERENCE_DATE, LIFECYCLE_STAGES, generate_contacts

PersonObject = Literal["Contact", "Lead"]
NOT_PROVIDED = "[not provided]"
STAGE_LABELS = dict(LIFECYCLE_STAGES)
LEAD_STATUS_BY_STAGE = {
    "subscriber": "Open - Not Contacted", "lead": "Open - Not Contacted",
    "marketingqualifiedlead": "Working - Contacted", "salesqualifiedlead": "Working - Contacted",
    "opportunity": "Working - Contacted", "customer": "Working - Contacted",
    "evangelist": "Working - Contacted", "other": "Closed - Not Converted",
}


def seed_people(store: SalesforceStore, n: int, seed: int, sobject: PersonObject,
                reference_date: date = DEFAULT_REFERENCE_DATE) -> list[str]:
    """Generate ``n`` people and insert them as ``sobject`` records; their ids in order."""
    rows = generate_contacts(n, seed, reference_date)
    sources = random.Random(seed)
    ids: list[str] = []
    with store.transaction():
        accounts: dict[str, str] = {}
        for row in rows:
            values = _person(row, sources.choice(LEAD_SOURCES)[0])
            if sobject == "Lead":
                values.update(_lead_only(row))
            elif row.get("company"):
                company = str(row["company"])
                if company not in accounts:
                    accounts[company] = store.insert("Account", _account(row),
                                                     _ms(row["createdate"])).id
                values["AccountId"] = accounts[company]
                values.update(_contact_only(row))
            record = store.insert(sobject, values, _ms(row["createdate"]),
                                  _ms(row["lastmodifieddate"]))
            ids.append(record.id)
    return ids


def _person(row: Mapping[str, str | None], lead_source: str) -> dict[str, Any]:
    """Fields a Contact and a Lead share."""
    stage = row.get("lifecyclestage")
    return {
        "FirstName": row.get("firstname"), "LastName": row.get("lastname") or NOT_PROVIDED,
        "Email": row.get("email"), "Title": row.get("jobtitle"), "LeadSource": lead_source,
        "HasOptedOutOfEmail": row.get("hs_email_optout") == "true",
        "Email_Opens__c": _float(row.get("hs_email_open")),
        "Purchases__c": _float(row.get("num_purchases")),
        "Total_Revenue__c": _float(row.get("total_revenue")),
        "Last_Activity__c": _ms(row.get("notes_last_updated")),
        "Last_Purchase_Date__c": row.get("recent_deal_close_date"),
        "Lifecycle_Stage__c": STAGE_LABELS.get(stage) if stage else None,
    }


def _contact_only(row: Mapping[str, str | None]) -> dict[str, Any]:
    return {
        "MailingCountry": row.get("country"), "MailingCity": row.get("city"),
        "Industry__c": row.get("industry"), "Employees__c": _float(row.get("employees")),
        "Annual_Revenue__c": _float(row.get("annualrevenue")),
    }


def _lead_only(row: Mapping[str, str | None]) -> dict[str, Any]:
    stage = row.get("lifecyclestage") or "lead"
    employees = _float(row.get("employees"))
    return {
        "Company": row.get("company") or NOT_PROVIDED, "Country": row.get("country"),
        "City": row.get("city"), "Industry": row.get("industry"),
        "NumberOfEmployees": int(employees) if employees is not None else None,
        "AnnualRevenue": _float(row.get("annualrevenue")),
        "Status": LEAD_STATUS_BY_STAGE[stage],
    }


def _account(row: Mapping[str, str | None]) -> dict[str, Any]:
    employees = _float(row.get("employees"))
    return {
        "Name": row["company"], "Industry": row.get("industry"),
        "NumberOfEmployees": int(employees) if employees is not None else None,
        "AnnualRevenue": _float(row.get("annualrevenue")),
        "BillingCountry": row.get("country"), "BillingCity": row.get("city"),
    }


def _float(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def _ms(text: str | None) -> int | None:
    return parse_datetime(text) if text else None
