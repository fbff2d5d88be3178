"""Reading stored JSON documents strictly: the state store hands back whatever it holds.

A state database may be a shared PostgreSQL or a restored backup, so a stored document is
untrusted input, read like configuration (``segment_core.config_readers``): every key known,
every value of its type, every number finite. A document that is not exactly right raises
``StoredModelError`` with one line naming the key, and is not used.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from segment_core import config_readers as read
from segment_core.errors import ConfigError
from segment_core.syntax import describe_value

T = TypeVar("T")


class StoredModelError(ValueError):
    """A stored cluster model that is not used: another format or version, or not well-formed."""


@contextmanager
def refusing() -> Iterator[None]:
    """Report a malformed document (``ConfigError`` from the readers) as ``StoredModelError``."""
    try:
        yield
    except ConfigError as error:
        raise StoredModelError(str(error)) from None


def items(raw: object, path: str) -> list[Any]:
    """``raw`` as a JSON list."""
    if not isinstance(raw, list):
        raise ConfigError(f"expected a list, got {describe_value(raw)}", path=path)
    return raw


def any_text(raw: object, path: str) -> str:
    """A string, empty or not (a category may be any text)."""
    if not isinstance(raw, str):
        raise ConfigError(f"expected a string, got {describe_value(raw)}", path=path)
    return raw


def mapping(raw: object, path: str, read_value: Callable[[object, str], T]) -> dict[str, T]:
    """A JSON object whose every value ``read_value`` accepts."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"expected a table, got {describe_value(raw)}", path=path)
    return {key: read_value(value, read.join(path, key)) for key, value in raw.items()}


def record(cls: type[T], raw: object, path: str) -> T:
    """A dataclass from its JSON object (``asdict`` output), each field read by its annotation:
    ``str``, ``int``, ``float`` (finite), ``Literal``, optional (``| None``), tuples of those,
    and nested dataclasses."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    required = [f.name for f in fields if f.default is dataclasses.MISSING]
    document = read.table(raw, path, [f.name for f in fields], required)
    values = {
        key: _typed(hints[key], value, read.join(path, key)) for key, value in document.items()
    }
    return cls(**values)


def _typed(hint: Any, raw: object, path: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        (inner,) = (arg for arg in args if arg is not type(None))
        return _typed(inner, raw, path)
    if origin is Literal:
        return read.choice(raw, path, args)
    if origin is tuple:
        return tuple(
            _typed(args[0], item, read.join(path, i)) for i, item in enumerate(items(raw, path))
        )
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return record(hint, raw, path)
    readers: dict[Any, Callable[[object, str], Any]] = {
        str: any_text,
        int: read.whole,
        float: read.number,
    }
    return readers[hint](raw, path)
