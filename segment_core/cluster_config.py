"""The ``[[clusters]]`` configuration: cluster segment sets and their parameters, checked.

Kept apart from ``clusters`` so that reading and checking a configuration does not import
scikit-learn (a second of start-up for every command); it loads when a set is fitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from segment_core import config_readers as read
from segment_core.errors import ConfigError
from segment_core.fields import CATEGORICAL_TYPES, NUMERIC_TYPES, FieldType

if TYPE_CHECKING:
    from segment_core.clusters import ClusterSegmenter


@dataclass(frozen=True)
class ClusterSetConfig:
    """A configured cluster segment set: its name, priority and ``ClusterSegmenter`` parameters.

    ``refit_every``: how old a stored model may grow before a run refits it, drift or not (the
    quarterly refresh); None keeps a model for as long as it fits the contacts.
    """

    name: str
    priority: int
    params: Mapping[str, Any]
    description: str = ""
    refit_every: timedelta | None = None

    def segmenter(self) -> ClusterSegmenter:
        from segment_core.clusters import ClusterSegmenter  # scikit-learn loads when used

        return ClusterSegmenter(**self.params)


SET_KEYS = ("name", "priority", "description", "refit_every")
"""The keys of a ``[[clusters]]`` table that are not ``ClusterSegmenter`` parameters."""
_PARAM_KEYS = (
    "numeric",
    "categorical",
    "n_clusters",
    "names",
    "feature_labels",
    "min_category_share",
    "minibatch_threshold",
    "sample_size",
    "n_init",
    "random_state",
    "drift_threshold",
    "share_drift_threshold",
    "max_name_traits",
    "min_trait_effect",
)


def parse_cluster_sets(
    raw: Sequence[Mapping[str, object]] | None,
    field_types: Mapping[str, FieldType] | None = None,
    path: str = "clusters",
) -> list[ClusterSetConfig]:
    """The ``[[clusters]]`` tables; ``ConfigError`` names the bad key.

    Each needs ``name``, ``priority`` and at least one of ``numeric``/``categorical``; every other
    key is a ``ClusterSegmenter`` parameter. With ``field_types`` (include the derived features'
    types, ``FeatureConfig.field_types()``), the feature fields are checked.
    """
    if raw is None:
        return []
    if isinstance(raw, (str, Mapping)) or not isinstance(raw, Sequence):
        raise ConfigError("expected a list of cluster set tables", path=path)
    sets: list[ClusterSetConfig] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = read.join(path, index)
        read.table(item, where, (*SET_KEYS, *_PARAM_KEYS), required=("name", "priority"))
        name = read.text(item["name"], read.join(where, "name"), "a name")
        if name in seen:
            raise ConfigError(f'duplicate name "{name}" (also {path}[{seen[name]}])', path=where)
        seen[name] = index
        priority = read.whole(item["priority"], read.join(where, "priority"))
        description = item.get("description", "")
        if not isinstance(description, str):
            raise ConfigError("expected a string", path=read.join(where, "description"))
        refit_every = (
            read.duration(item["refit_every"], read.join(where, "refit_every"))
            if "refit_every" in item
            else None
        )
        params = _parse_params(item, where, field_types)
        sets.append(ClusterSetConfig(name, priority, params, description, refit_every))
    return sets


def _parse_params(
    item: Mapping[str, Any], where: str, field_types: Mapping[str, FieldType] | None
) -> dict[str, Any]:
    """The ``ClusterSegmenter`` parameters of one ``[[clusters]]`` table (parsed TOML), checked."""
    params: dict[str, Any] = {}
    for key, allowed, purpose in (
        ("numeric", NUMERIC_TYPES, "a numeric feature"),
        ("categorical", CATEGORICAL_TYPES, "a categorical feature"),
    ):
        if key in item:
            fields = read.names(item[key], read.join(where, key))
            for i, name in enumerate(fields):
                read.field(
                    name, read.join(read.join(where, key), i), field_types, allowed, purpose
                )
            params[key] = fields
    if not params.get("numeric") and not params.get("categorical"):
        raise ConfigError('expected features: "numeric" and/or "categorical" fields', path=where)
    both = set(params.get("numeric", ())) & set(params.get("categorical", ()))
    if both:
        raise ConfigError(f'field "{sorted(both)[0]}" is both numeric and categorical', path=where)
    if "n_clusters" in item:
        key, value = read.join(where, "n_clusters"), item["n_clusters"]
        if isinstance(value, Sequence) and not isinstance(value, str):
            if len(value) != 2:
                raise ConfigError("expected a whole number or a [low, high] range", path=key)
            low, high = (
                read.whole(v, read.join(key, i), minimum=2) for i, v in enumerate(value)
            )
            if low > high:
                raise ConfigError(f"the range [{low}, {high}] is empty (low bound first)", path=key)
            params["n_clusters"] = (low, high)
        else:
            params["n_clusters"] = read.whole(value, key, minimum=2)
    if "names" in item:
        key = read.join(where, "names")
        if not isinstance(item["names"], Mapping):
            raise ConfigError("expected a table of cluster id = name", path=key)
        names = {}
        for cid, name in item["names"].items():
            cid_key = read.join(key, str(cid))
            number = (
                cid
                if isinstance(cid, int) and not isinstance(cid, bool)
                else (int(cid) if isinstance(cid, str) and cid.strip().isdigit() else None)
            )
            if number is None:
                raise ConfigError(
                    f"expected a cluster id (a whole number), got {cid!r}", path=cid_key
                )
            names[number] = read.text(name, cid_key, "a name")
            if ";" in name:
                raise ConfigError('a segment name may not contain ";"', path=cid_key)
        if len(set(names.values())) != len(names):
            raise ConfigError("cluster names must be unique", path=key)
        params["names"] = names
    if "feature_labels" in item:
        key = read.join(where, "feature_labels")
        if not isinstance(item["feature_labels"], Mapping):
            raise ConfigError("expected a table of field = label", path=key)
        params["feature_labels"] = {
            str(f): read.text(label, read.join(key, str(f)), "a label")
            for f, label in item["feature_labels"].items()
        }
    for key, lowest, highest in (
        ("min_category_share", 0.0, 1.0),
        ("drift_threshold", 0.0, None),
        ("share_drift_threshold", 0.0, 1.0),
        ("min_trait_effect", 0.0, None),
    ):
        if key in item:
            params[key] = read.number(item[key], read.join(where, key), lowest, highest)
    for key, minimum in (
        ("minibatch_threshold", 1),
        ("sample_size", 10),
        ("n_init", 1),
        ("random_state", 0),
        ("max_name_traits", 1),
    ):
        if key in item:
            params[key] = read.whole(item[key], read.join(where, key), minimum=minimum)
    return params
