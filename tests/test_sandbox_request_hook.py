"""The sandbox's request hook: every request, in arrival order, before it is served.

Fault-injection tests lean on it to fail exact requests of a run; these tests pin down what
they lean on.
"""

from __future__ import annotations

import random

import requests

from connectors.sandbox import HubSpotSandbox
from connectors.sandbox.base import Arrival
from tests.conftest import TOKEN

CONTACTS = "/crm/v3/objects/contacts"


def get(crm: HubSpotSandbox, path: str = CONTACTS) -> int:
    """The status of one authorised GET (0 when the sandbox dropped the connection)."""
    try:
        response = requests.get(
            f"{crm.base_url}{path}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        )
    except requests.ConnectionError:
        return 0
    return response.status_code


def test_the_hook_sees_every_request_in_order_before_it_is_served(crm: HubSpotSandbox) -> None:
    seen: list[tuple[Arrival, int]] = []
    crm.on_request(lambda request: seen.append((request, len(crm.call_log))))
    get(crm)
    get(crm, f"{CONTACTS}/51")
    get(crm, "/no/such/route")

    assert [(a.ordinal, a.method, a.path, a.route) for a, _ in seen] == [
        (1, "GET", CONTACTS, f"GET {CONTACTS}"),
        (2, "GET", f"{CONTACTS}/51", f"GET {CONTACTS}/{{contactId}}"),
        (3, "GET", "/no/such/route", "GET /no/such/route"),
    ]
    assert [logged for _, logged in seen] == [0, 1, 2]  # not yet answered when seen


def test_a_fault_the_hook_injects_fails_the_request_it_sees(crm: HubSpotSandbox) -> None:
    def fail_the_second(request: Arrival) -> None:
        if request.ordinal == 2:
            crm.inject_faults(503)

    crm.on_request(fail_the_second)
    assert [get(crm) for _ in range(3)] == [200, 503, 200]


def test_the_same_seed_fails_the_same_requests(crm: HubSpotSandbox) -> None:
    def faults_of_a_run(seed: int) -> list[int]:
        crm.call_log.clear()
        rng = random.Random(seed)

        def chaos(request: Arrival) -> None:
            if rng.random() < 0.3:
                crm.inject_faults(rng.choice([500, 503, "disconnect"]))

        crm.on_request(chaos)
        return [get(crm) for _ in range(30)]

    first = faults_of_a_run(seed=5)
    assert faults_of_a_run(seed=5) == first
    assert set(first) >= {200, 500, 503, 0}
    assert [record.status for record in crm.call_log] == first


def test_without_a_hook_nothing_is_called_any_more(crm: HubSpotSandbox) -> None:
    seen: list[Arrival] = []
    crm.on_request(seen.append)
    get(crm)
    crm.on_request(None)
    get(crm)
    assert [a.ordinal for a in seen] == [1]
