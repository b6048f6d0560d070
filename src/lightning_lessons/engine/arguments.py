"""The command line of the tools that are not Hydra apps (evaluate, predict): `key=value` pairs."""

from __future__ import annotations

from collections.abc import Sequence

from lightning_lessons.errors import fail


def parse_key_values(argv: Sequence[str], known: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split `key=value` arguments into the tool's own settings and config overrides."""
    settings: dict[str, str] = {}
    overrides: list[str] = []
    for argument in argv:
        key, equals, value = argument.partition("=")
        if not equals:
            fail(f"arguments are key=value pairs, got '{argument}' (known keys: {', '.join(known)})")
        if key in known:
            settings[key] = value
        else:
            overrides.append(argument)
    return settings, overrides
