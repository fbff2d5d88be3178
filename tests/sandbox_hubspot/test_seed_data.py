"""The sandbox HubSpot's store helpers and seed data: edits show up, seeds are deterministic."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.sandbox import HubSpotSandbox, generate_contacts
from connectors.sandbox.timestamps import ms_from_iso
from tests.support.hubspot_sdk import ISO_MS, Apis


def test_a_persons_edit_shows_up_in_reads(crm: HubSpotSandbox, api: Apis):
    [cid] = crm.seed_contacts(1, seed=2)
    old = crm.store.contact(cid)["lastmodifieddate"]

    crm.store.set_properties(cid, {"industry": "Retail"})

    [contact] = api.basic.get_page(limit=1, properties=["industry"]).results
    assert contact.properties["industry"] == "Retail"
    assert contact.properties["lastmodifieddate"] > old
    assert round(contact.updated_at.timestamp() * 1000) == ms_from_iso(
        contact.properties["lastmodifieddate"]
    )
    with pytest.raises(ValueError):
        crm.store.set_properties(cid, {"industyr": "Retail"})


def test_seed_is_deterministic_realistic_and_honestly_messy():
    rows = generate_contacts(4000, seed=11)

    assert rows == generate_contacts(4000, seed=11)
    assert rows != generate_contacts(4000, seed=12)
    assert len(rows) == 4000
    emails = [r["email"] for r in rows if r["email"]]
    assert 0.003 < (len(emails) - len({e.lower() for e in emails})) / 4000 < 0.007
    people = [
        (r["firstname"], r["lastname"], r["company"])
        for r in rows
        if all((r["firstname"], r["lastname"], r["company"]))
    ]
    assert len(people) - len(set(people)) >= 20  # ~1% duplicates in all
    industries = {r["industry"] for r in rows if r["industry"]}
    assert {
        "Healthcare",
        "Biotechnology",
        "Software",
        "Financial Services",
        "Retail",
        "Manufacturing",
        "Education",
    } <= industries
    assert any(i != i.strip() or i == i.lower() for i in industries)  # " Retail", "healthcare"
    assert 0.03 < sum(r["industry"] is None for r in rows) / 4000 < 0.09
    customers = [r for r in rows if r["lifecyclestage"] == "customer"]
    assert sum(int(r["num_purchases"]) >= 1 for r in customers) / len(customers) > 0.95
    assert all(r["num_purchases"] == "0" for r in rows if r["lifecyclestage"] == "lead")
    big = [
        float(r["annualrevenue"])
        for r in rows
        if r["annualrevenue"] and r["employees"] and int(r["employees"]) >= 500
    ]
    small = [
        float(r["annualrevenue"])
        for r in rows
        if r["annualrevenue"] and r["employees"] and int(r["employees"]) < 50
    ]
    assert sum(big) / len(big) > 10 * sum(small) / len(small)
    for row in rows:
        assert ISO_MS.match(row["createdate"]) and row["createdate"] < "2025-06-30"
        assert row["createdate"] <= row["lastmodifieddate"] < "2025-06-30"
        assert row["notes_last_updated"] is None or ISO_MS.match(row["notes_last_updated"])
        assert row["recent_deal_close_date"] is None or re.match(
            r"^\d{4}-\d{2}-\d{2}$", row["recent_deal_close_date"]
        )
        assert row["hs_email_optout"] in ("true", "false")
        assert row["employees"] is None or row["employees"].isdigit()


def test_seed_does_not_depend_on_hash_randomisation():
    script = (
        "import hashlib, json; from connectors.sandbox import generate_contacts; "
        "print(hashlib.sha1(json.dumps(generate_contacts(500, 3)).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1
