"""A full HubSpot pull of N contacts through one CRM export against the same pull by pages.

Run: .venv/bin/python bench/exports.py [--contacts N] [--rate R] [--latency S]
(default 100,000 contacts; ``--contacts 1000000`` for issue #14's figure)

One sandbox portal, seeded once; the same connector code pulls it twice through
``sync.pull.pull_contacts``, as a full sync does: once with ``export_above_contacts`` below N
(start the export, poll its status, download the file, parse it), once above it (pages of 100).
Each pull is preceded by the CRM's contact count, as the sync's is. The sandbox answers at
loopback speed, plus ``--latency`` seconds a request, and refuses nothing; "floor" is the least
time the same calls take at ``--rate`` requests per 10 s (HubSpot Professional: 190), computed
as ``bench/sync_bench.py`` does. The export's file download is a pre-signed link outside the
API's limits: it is counted apart ("downloads") and not in the floor. Figures only; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from functools import cache
from importlib import util
from pathlib import Path
from types import ModuleType

# Run as a script, this file's directory comes first on the path, where a bench file could
# hide a package of the same name (see bench/sync_bench.py).
sys.path = [entry for entry in sys.path if Path(entry).resolve() != Path(__file__).parent.resolve()]

from pydantic import SecretStr  # noqa: E402 - after the path fix above

from connectors.hubspot import HubSpotConnector, HubSpotSettings  # noqa: E402
from connectors.sandbox import HubSpotSandbox  # noqa: E402
from connectors.sandbox.hubspot.exports import DOWNLOAD_ROUTE  # noqa: E402
from sync.progress import SilentProgress  # noqa: E402
from sync.pull import pull_contacts  # noqa: E402
from sync.retry import Retrier, RetryPolicy  # noqa: E402

TOKEN = "bench-token"
FIELDS = ["email", "industry", "employees", "lifecyclestage", "hs_email_open"]
SEARCH_ROUTE = "POST /crm/v3/objects/contacts/search"


@cache
def sync_bench() -> ModuleType:
    """``bench/sync_bench.py``, loaded by path (bench is no package), for its floor."""
    spec = util.spec_from_file_location("sync_bench", Path(__file__).with_name("sync_bench.py"))
    assert spec is not None and spec.loader is not None
    module = sys.modules[spec.name] = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def floor_seconds(calls: int, searches: int, rate: int) -> float:
    return float(sync_bench().floor_seconds(calls, searches, rate))


def pull(crm: HubSpotSandbox, label: str, export_above: int, rate: int) -> int:
    """One full pull (count, then every contact); prints its calls and seconds."""
    settings = HubSpotSettings(
        base_url=crm.base_url, token=SecretStr(TOKEN), export_above_contacts=export_above
    )
    connector = HubSpotConnector(settings)
    before = Counter(crm.calls)
    started = time.perf_counter()
    connector.count_contacts()
    frame, _ = pull_contacts(connector, FIELDS, Retrier(RetryPolicy()), SilentProgress())
    seconds = time.perf_counter() - started
    connector.close()
    made = Counter(crm.calls)
    made.subtract(before)
    downloads = made.pop(DOWNLOAD_ROUTE, 0)
    calls = sum(made.values())
    floor = floor_seconds(calls, made[SEARCH_ROUTE], rate)
    print(
        f"{label:<7} {len(frame):>10,} contacts   API calls {calls:>6,}   downloads {downloads}"
        f"   wall {seconds:>7.1f} s   floor at {rate}/10 s {floor:>7.1f} s"
    )
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=190, help="requests per 10 s for the floor")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    args = parser.parse_args()
    if args.contacts < 1 or args.rate < 1 or args.latency < 0:
        parser.error("--contacts and --rate must be positive, --latency not negative")
    with HubSpotSandbox(token=TOKEN, latency=args.latency) as crm:
        started = time.perf_counter()
        crm.seed_contacts(args.contacts, seed=1)
        print(f"seeded {args.contacts:,} contacts in {time.perf_counter() - started:.1f} s")
        exported = pull(crm, "export", 0, args.rate)
        paged = pull(crm, "pages", args.contacts, args.rate)
    print(f"calls paged/exported {paged / exported:.0f}x")


if __name__ == "__main__":
    main()
