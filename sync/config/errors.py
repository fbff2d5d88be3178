"""The one error of reading a configuration."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, the key and the fix."""
