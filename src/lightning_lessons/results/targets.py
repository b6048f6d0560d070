"""The `_target_`s a run's saved config may name: those the project's own configs build, and no other.

A run folder is data (copied, edited): Hydra calls whatever its config names, `torch.load` of a pickle as
readily as a network (its blocklist stops `os.system`, not that), so nothing is built from one until this
module has checked it."""

import os
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lightning_lessons.config import CONF_DIR
from lightning_lessons.errors import ConfigError, RunFolderError

TRUSTED_ENV = "LESSONS_TRUSTED_TARGETS"  # your own classes, comma-separated: named outside any run folder
NAMED = re.compile(r"""_target_['"]?\s*[:=]\s*['"]?([\w.]+)""")  # `_target_: x`, and `+a._target_=x`


@cache
def conf_targets() -> frozenset[str]:
    """Every `_target_` that a yaml under conf/ names, as a key or in an override it holds."""
    return frozenset(name for path in CONF_DIR.rglob("*.yaml") for name in NAMED.findall(path.read_text()))


def named_targets(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Each `_target_` of a plain config, with its key (`callbacks.extra[0]._target_`)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for name, value in items:
        path = f"{key}[{name}]" if isinstance(node, list) else f"{key}.{name}".lstrip(".")
        yield from [(path, value)] if name == "_target_" else named_targets(value, path)


def config_targets(path: Path, cfg: DictConfig, resolve: bool) -> Iterator[tuple[str, Any]]:
    """A saved config's targets as written (an edit that broke an interpolation hides none of them), or
    with its interpolations resolved (`${oc.create:...}` makes a node)."""
    if not resolve:
        yield from ((k, t) for k, t in named_targets(OmegaConf.to_container(cfg)) if "${" not in str(t))
        return
    try:
        yield from named_targets(OmegaConf.to_container(cfg, resolve=True))
    except OmegaConfBaseException as error:
        raise RunFolderError(f"{path} cannot be resolved: {str(error).splitlines()[0]}") from None


def override_targets(path: Path, overrides: list[str]) -> Iterator[tuple[str, Any]]:
    """The targets saved overrides set (`a._target_=x`, `a={_target_: x}`). A Hydra setting
    (`hydra.searchpath=...` adds configs) or one that does not parse: refused, no run saves them."""
    for text in overrides:
        try:
            (override,) = OverridesParser.create().parse_overrides([text])
        except HydraException:
            override = None
        if override is None or override.is_hydra_override():
            raise ConfigError(f"{path} holds '{text}', which no run saves: refused, nothing was run")
        key, value = override.key_or_group, override.value()
        yield from [(key, value)] if key.split(".")[-1] == "_target_" else named_targets(value, key)


def refuse_untrusted(path: Path, targets: Iterable[tuple[str, Any]], also: Iterable[str] = ()) -> None:
    """Stop, naming each target (and its key) that `path` holds and neither conf/, `also` (old names of
    its classes) nor $LESSONS_TRUSTED_TARGETS does."""
    yours = {name.strip() for name in os.environ.get(TRUSTED_ENV, "").split(",") if name.strip()}
    refused = [f"{k}={t}" for k, t in targets if str(t) not in conf_targets() | set(also) | yours]
    if refused:
        raise ConfigError(
            f"{path} names {', '.join(refused)}, which no config of this project builds: refused, nothing "
            f"was built or run. A run folder is data: use the config its run wrote (a class of your own: "
            f"name it in ${TRUSTED_ENV})"
        )
