"""Small pieces shared by the command-line tools that are not Hydra apps (evaluate, predict)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def parse_key_values(argv: Sequence[str], known: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split `key=value` arguments into the tool's own settings and config overrides."""
    settings: dict[str, str] = {}
    overrides: list[str] = []
    for argument in argv:
        key, equals, value = argument.partition("=")
        if not equals:
            sys.exit(
                f"error: arguments are key=value pairs, got '{argument}' (known keys: {', '.join(known)})"
            )
        if key in known:
            settings[key] = value
        else:
            overrides.append(argument)
    return settings, overrides


def run_or_explain(action: Callable[[], T]) -> T:
    """Run the tool; a user's mistake (missing file, bad value) ends with its message, not a traceback."""
    from lightning_lessons.data import DataError

    try:
        return action()
    except (FileNotFoundError, ValueError, OSError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
