"""A segsync config file with the test segments (``tests.expectations``), for CLI tests."""

from __future__ import annotations

from pathlib import Path

RULES = {
    "Big": (100, "employees >= 200"),
    "Engaged": (50, "hs_email_open >= 5"),
    "Buyers": (50, "num_purchases > 0 and employees < 200"),
}


def write_config(
    directory: Path,
    base_url: str,
    *,
    segments: tuple[str, ...] = ("Big", "Engaged", "Buyers"),
    sync: str = "",
) -> Path:
    """``segments`` (names of ``RULES``) synced into the HubSpot at ``base_url``; ``sync`` is
    extra ``[sync]`` lines."""
    blocks = [
        f'[[segments]]\nname = "{name}"\npriority = {RULES[name][0]}\nrule = "{RULES[name][1]}"\n'
        for name in segments
    ]
    path = directory / "segsync.toml"
    path.write_text(
        f'[sync]\nstate_dir = "{directory}"\n{sync}\n\n'
        f'[hubspot]\nbase_url = "{base_url}"\ntimeout_seconds = 10\n\n' + "\n".join(blocks)
    )
    return path
