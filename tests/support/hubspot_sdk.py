"""The sandbox HubSpot driven through the real ``hubspot-api-client``, and raw HTTP beside it."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
)

from connectors.sandbox import HubSpotSandbox

TOKEN = "sandbox-token"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@dataclass
class Apis:
    """The SDK's API objects, built once: each ``.basic_api`` access makes a new ApiClient."""

    basic: Any
    batch: Any
    search: Any
    properties: Any
    groups: Any
    lists: Any
    members: Any


def sdk(crm: HubSpotSandbox, token: str = TOKEN) -> Apis:
    client = HubSpot(access_token=token, host=crm.base_url, retry=False)
    return Apis(
        basic=client.crm.contacts.basic_api,
        batch=client.crm.contacts.batch_api,
        search=client.crm.contacts.search_api,
        properties=client.crm.properties.core_api,
        groups=client.crm.properties.groups_api,
        lists=client.crm.lists.lists_api,
        members=client.crm.lists.memberships_api,
    )


def batch_update(api: Apis, writes: list[tuple[str, dict[str, str]]]) -> Any:
    inputs = [SimplePublicObjectBatchInput(id=cid, properties=props) for cid, props in writes]
    return api.batch.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=inputs
        )
    )


def search(api: Apis, **request: Any) -> Any:
    return api.search.do_search(public_object_search_request=PublicObjectSearchRequest(**request))


def raw(
    crm: HubSpotSandbox, method: str, path: str, body: Any = None, token: str = TOKEN
) -> tuple[int, dict[str, str], bytes]:
    """A request without the SDK, for what the SDK hides (headers, unserved routes)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        crm.base_url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def all_pages(api: Apis, **kwargs: Any) -> list[list[str]]:
    pages, after = [], None
    while True:
        page = api.basic.get_page(limit=100, after=after, **kwargs)
        pages.append([contact.id for contact in page.results])
        if page.paging is None:
            return pages
        after = page.paging.next.after
