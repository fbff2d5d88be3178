"""segsync's configuration: a TOML file, overridden by ``SEGSYNC_*`` environment variables.

Secrets (tokens, passwords) come only from the environment or a secrets directory
(``SEGSYNC_SECRETS_DIR``, one file per secret such as ``hubspot__token``); a secret found in
the TOML file is refused, because that file is meant to be committed (``secrets``).

``models`` holds the sections of segsync's own settings; each connector declares the model of
its own section, and ``settings`` builds the whole ``Settings`` with it; ``loading`` reads the
file and reports what is wrong with it by file and key.
"""

from sync.config.errors import ConfigError
from sync.config.loading import load_settings
from sync.config.models import AlertOptions, Guardrails, ReportOptions, SegmentConfig, SyncOptions
from sync.config.settings import Settings

__all__ = [
    "AlertOptions",
    "ConfigError",
    "Guardrails",
    "ReportOptions",
    "SegmentConfig",
    "Settings",
    "SyncOptions",
    "load_settings",
]
