"""Readable, unique cluster names from their most distinguishing traits.

A generated name joins the cluster's strongest traits (see ``profiles``) with " · ", e.g.
``Marketing Qualified Lead · Healthcare · high engagement``: a categorical trait reads as its
category in the CRM's words (the option's label), a numeric one as "high <feature>" or
"low <feature>" (the field's label). Names are unique across the set:

1. names fixed by configuration (overrides by cluster id) are used as given, and must differ;
2. names kept from the stored model (a cluster that kept its identity across a refit) are kept,
   unless they clash with an override;
3. every other cluster gets a name of its first ``max_traits`` traits; clusters whose names
   clash with each other or with a fixed name take one more trait at a time while they have
   more; any clash left is settled by appending `` · cluster <id>``. A cluster without a
   distinguishing trait is ``Typical contacts``. A generated name starts with a capital, as a
   segment name in a CRM list does (``Low employees · Retail``).

Generated names never contain ";" (it separates the options of a CRM multi-select) and are at
most ``MAX_GENERATED_LENGTH`` characters before the `` · cluster <id>`` a clash may add, so that
with a list name pattern like ``segsync: {segment}`` they fit the shortest list name a CRM
takes (a Salesforce campaign's 80 characters); the sync checks every name against its CRM's
limits before writing anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from segment_core.profiles import ClusterProfile
from segment_core.text import printable

SEPARATOR = " · "
TRAITLESS_NAME = "Typical contacts"
MAX_GENERATED_LENGTH = 50


def cluster_names(
    profiles: Mapping[int, ClusterProfile],
    *,
    overrides: Mapping[int, str] | None = None,
    kept: Mapping[int, str] | None = None,
    max_traits: int = 3,
) -> dict[int, str]:
    """A unique name per cluster id of ``profiles`` (see the module docstring for the order)."""
    overrides = {cid: name for cid, name in (overrides or {}).items() if cid in profiles}
    duplicated = [name for name, count in Counter(overrides.values()).items() if count > 1]
    if duplicated:
        raise ValueError(
            f"cluster name overrides must be unique; repeated: {', '.join(duplicated)}"
        )
    names = dict(overrides)
    for cluster_id, name in (kept or {}).items():
        if cluster_id in profiles and cluster_id not in names and name not in names.values():
            names[cluster_id] = name
    pending = [cluster_id for cluster_id in sorted(profiles) if cluster_id not in names]
    taken = {name.casefold() for name in names.values()}
    names.update(_generate(profiles, pending, taken, max_traits))
    return {cluster_id: names[cluster_id] for cluster_id in sorted(profiles)}


def _generate(
    profiles: Mapping[int, ClusterProfile], pending: list[int], taken: set[str], max_traits: int
) -> dict[int, str]:
    """Names for the ``pending`` clusters; ``taken`` are the fixed names, case-folded: names
    differing only in case clash, as CRM list names do."""
    parts = {
        cid: [trait.name_part.replace(";", ",") for trait in profiles[cid].traits]
        for cid in pending
    }
    used = {cid: min(max_traits, len(parts[cid])) for cid in pending}

    def name(cid: int) -> str:
        joined = SEPARATOR.join(parts[cid][: used[cid]]) or TRAITLESS_NAME
        return printable(joined[:1].upper() + joined[1:], MAX_GENERATED_LENGTH)

    def clashes(names: Mapping[int, str]) -> list[int]:
        folded = {cid: name.casefold() for cid, name in names.items()}
        counts = Counter(folded.values())
        return [cid for cid, key in folded.items() if counts[key] > 1 or key in taken]

    while True:
        clashing = clashes({cid: name(cid) for cid in pending})
        extendable = [cid for cid in clashing if used[cid] < len(parts[cid])]
        if not extendable:
            break
        for cid in extendable:
            used[cid] += 1
    generated = {cid: name(cid) for cid in pending}
    for cid in clashes(generated):
        generated[cid] = f"{generated[cid]}{SEPARATOR}cluster {cid}"
    return generated
