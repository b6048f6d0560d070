"""Where the configs live and how a command line becomes a checked config."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
CONFIG_NAME = "train"


def register_resolvers() -> None:
    """`${pid:}` keeps two runs started in the same second out of each other's folders."""
    if not OmegaConf.has_resolver("pid"):
        OmegaConf.register_new_resolver("pid", os.getpid)


def compose(overrides: Sequence[str] = (), config_name: str = CONFIG_NAME) -> DictConfig:
    """The config Hydra would build for these overrides, without starting a run (tests, tools)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def _unknown_key(error: BaseException) -> str | None:
    while error is not None:
        if isinstance(error, OmegaConfBaseException) and "not in struct" in str(error):
            return error.full_key
        error = error.__cause__
    return None


def _explain_unknown_key(key: str, overrides: list[str], config_name: str) -> str:
    parent, _, name = key.rpartition(".")
    others = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") != key]
    try:
        node = compose(others, config_name)
        node = OmegaConf.select(node, parent) if parent else node
    except (HydraException, OmegaConfBaseException):
        node = None
    lines = [f"unknown config key '{key}'."]
    if isinstance(node, DictConfig):
        allowed = sorted(str(k) for k in node)
        close = difflib.get_close_matches(name, allowed, n=3)
        if close:
            lines.append("Did you mean: " + ", ".join(f"{parent + '.' if parent else ''}{c}" for c in close) + "?")
        lines.append(f"Keys allowed under '{parent or '<top level>'}': " + ", ".join(allowed))
    return "\n".join(lines)


def check_command_line(argv: Sequence[str], config_name: str = CONFIG_NAME) -> str | None:
    """Compose the config the command line asks for and check it; return what is wrong, or None.

    Runs before Hydra creates a run folder, so a bad override leaves nothing behind that looks like
    a result. Sweeps (`a=1,2` under `-m`) are left to each job's own check; Hydra's flags
    (`--help`, `--cfg`, ...) are left to Hydra.
    """
    from lightning_lessons.schema import check_config

    if any(arg.startswith("-") and arg not in ("-m", "--multirun") for arg in argv):
        return None
    try:
        parsed = OverridesParser.create().parse_overrides([a for a in argv if not a.startswith("-")])
    except HydraException as error:
        return str(error)
    overrides = [o.input_line for o in parsed if not o.is_sweep_override()]
    try:
        cfg = compose(overrides, config_name)
    except (HydraException, OmegaConfBaseException) as error:
        key = _unknown_key(error)
        return _explain_unknown_key(key, overrides, config_name) if key else str(error)
    problems = check_config(cfg)
    return "\n".join(problems) if problems else None
