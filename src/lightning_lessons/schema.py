"""Checks a composed config against the signatures of the classes its `_target_`s name.

Every object of a run is built from a `_target_` config, so the constructors' signatures and type
hints are the schema: a key a constructor does not take, or a value of the wrong type, is reported
with its full key before anything is built or any run folder is written.
"""

from __future__ import annotations

import collections.abc
import difflib
import inspect
import types
import typing
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import torch
from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


@dataclass
class RunSettings:
    """The top-level keys of `conf/train.yaml` that are not config groups."""

    lesson_name: str
    description: str
    seed: int
    ckpt_path: str | None
    monitor: str
    test: bool
    num_threads: int | None
    tags: list[str]
    data_fraction: float
    print_config: bool
    min_free_mb: int


_SEQUENCES = {
    list,
    tuple,
    collections.abc.Sequence,
    collections.abc.Iterable,
    collections.abc.MutableSequence,
}
_BUILTINS = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}


def accepts(hint: Any, value: Any) -> bool:
    """Whether a config value fits a type hint; hints it cannot judge are given the benefit of the doubt."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(accepts(arm, value) for arm in get_args(hint))
    if origin is Literal:
        return value in get_args(hint)
    if hint is type(None):
        return value is None
    if hint in _BUILTINS:
        return isinstance(value, _BUILTINS[hint]) and (hint is bool or not isinstance(value, bool))
    if isinstance(value, ListConfig):
        args = [a for a in get_args(hint) if a is not Ellipsis]
        return origin not in _SEQUENCES or not args or all(accepts(args[0], item) for item in value)
    if isinstance(value, DictConfig):
        return True  # an object built from its own `_target_` config, checked on its own
    if origin in _SEQUENCES or origin in (dict, collections.abc.Mapping):
        return False
    if isinstance(hint, type):
        if issubclass(hint, PurePath):
            return isinstance(value, str)
        if hint is torch.device:
            return isinstance(value, (str, int))
        return isinstance(value, hint)
    return True


def describe(hint: Any) -> str:
    """A type hint as a user reads it: `int | None`, `one of 'sum', 'mean'`."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return " | ".join(describe(arm) for arm in get_args(hint))
    if origin is Literal:
        return "one of " + ", ".join(repr(value) for value in get_args(hint))
    if hint is type(None):
        return "None"
    if isinstance(hint, type) and origin is None:
        return hint.__name__
    return str(hint).replace("typing.", "")


def _check_value(node: DictConfig, key: str, full_key: str, hint: Any, problems: list[str]) -> None:
    if OmegaConf.is_missing(node, key):
        problems.append(f"'{full_key}' must be set (it is ???)")
        return
    try:
        value = node[key]
    except OmegaConfBaseException as error:
        if "hydra" not in str(error).lower():  # ${hydra:...} resolves only in a running Hydra app
            problems.append(f"'{full_key}' cannot be resolved: {error}")
        return
    if hint is not None and not accepts(hint, value):
        shown = OmegaConf.to_container(value) if isinstance(value, (DictConfig, ListConfig)) else value
        problems.append(f"{full_key}={shown!r} has the wrong type: expected {describe(hint)}")


def _check_target(node: DictConfig, path: str, problems: list[str]) -> None:
    target = node.get("_target_")
    try:
        obj = get_object(target)
        signature = inspect.signature(obj)
    except Exception as error:  # an import error of any kind is the user's to see
        problems.append(f"'{path}._target_': cannot use '{target}': {error}")
        return
    try:
        hints = get_type_hints(obj.__init__ if isinstance(obj, type) else obj)
    except Exception:
        hints = {}
    kinds = inspect.Parameter
    params = {
        n: p
        for n, p in signature.parameters.items()
        if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)
    }
    takes_any = any(p.kind is kinds.VAR_KEYWORD for p in signature.parameters.values())
    for key in node:
        key = str(key)
        if key.startswith("_"):
            continue
        full_key = f"{path}.{key}" if path else key
        if key in params:
            _check_value(node, key, full_key, hints.get(key), problems)
        elif not takes_any:
            close = difflib.get_close_matches(key, list(params), n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else f" Remove it with ~{full_key}."
            problems.append(f"unknown key '{full_key}': {target} takes {', '.join(params)}.{hint}")
    if not node.get("_partial_", False):
        for name, param in params.items():
            if param.default is param.empty and name not in node:
                problems.append(f"'{path}.{name}' is not set, and {target} requires it")


def _walk(node: Any, path: str, problems: list[str]) -> None:
    if isinstance(node, DictConfig):
        if "_target_" in node:
            _check_target(node, path, problems)
        for key in node:
            child = node._get_node(key)
            _walk(child, f"{path}.{key}" if path else str(key), problems)
    elif isinstance(node, ListConfig):
        for index in range(len(node)):
            _walk(node._get_node(index), f"{path}[{index}]", problems)


def check_config(cfg: DictConfig) -> list[str]:
    """Every problem found in the config, each naming its key; empty when the config is sound."""
    problems: list[str] = []
    for key, hint in typing.get_type_hints(RunSettings).items():
        if key in cfg:
            _check_value(cfg, key, key, hint, problems)
        else:
            problems.append(f"top-level key '{key}' is missing")
    _walk(cfg, "", problems)
    return problems
