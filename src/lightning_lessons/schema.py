"""Checks a composed config against the signatures of the classes its `_target_`s name: the
constructors' signatures and type hints are the schema, so a key they do not take, a value of the wrong
type or out of range (`BOUNDS`), or a `monitor` never logged is reported by its full key before anything
is built."""

import collections.abc
import difflib
import inspect
import math
import types
import typing
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import torch
from hydra.utils import get_object
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lightning_lessons.errors import ConfigError


@dataclass
class RunSettings:
    """The top-level keys of `conf/train.yaml` that are not config groups."""

    lesson_name: str
    code: str
    description: str
    seed: int
    epochs: int
    ckpt_path: str | None
    monitor: str
    test: bool
    num_threads: int | None
    tags: list[str]
    data_fraction: float
    print_config: bool
    min_free_mb: int


@dataclass(frozen=True)
class Bound:
    """The values a number may take: `low <= value <= high` (`<` where open), or one of `special`."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    special: tuple[int, ...] = ()
    meaning: str = ""  # what a special value or null means, for the message

    def admits(self, value: float) -> bool:
        if value in self.special:
            return True
        if not math.isfinite(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def describe(self) -> str:
        low = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        high = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        text = " and ".join(part for part in (low, high) if part) or "finite"
        return f"{text}{f' ({self.meaning})' if self.meaning else ''}"


POSITIVE = Bound(low=0, low_open=True)
AT_LEAST_ONE = Bound(low=1)
NOT_NEGATIVE = Bound(low=0)
FRACTION = Bound(low=0, high=1)
# The range of every number a user sets, by parameter name: the names mean the same thing in every
# class that takes them (ours, torch's optimizers, Lightning's Trainer). A class can narrow a name for
# itself with a `BOUNDS` class attribute (MNIST's `val_size` must leave training images).
BOUNDS: dict[str, Bound] = {
    "lr": POSITIVE,
    "momentum": NOT_NEGATIVE,
    "weight_decay": NOT_NEGATIVE,
    "eps": POSITIVE,
    "batch_size": Bound(low=1, meaning="null: the whole split in one batch"),
    "eval_batch_size": Bound(low=1, meaning="null: as batch_size"),
    "n_samples": AT_LEAST_ONE,
    "n_val": NOT_NEGATIVE,
    "n_test": NOT_NEGATIVE,
    "val_size": NOT_NEGATIVE,
    "labels_per_class": AT_LEAST_ONE,
    "n_features": AT_LEAST_ONE,
    "n_outputs": AT_LEAST_ONE,
    "in_features": AT_LEAST_ONE,
    "out_features": AT_LEAST_ONE,
    "hidden": AT_LEAST_ONE,
    "widths": AT_LEAST_ONE,
    "sizes": AT_LEAST_ONE,
    "stds": POSITIVE,
    "num_classes": Bound(low=2),
    "channels": AT_LEAST_ONE,
    "noise_scale": NOT_NEGATIVE,
    "sigma": NOT_NEGATIVE,
    "noise_seed": Bound(low=0, high=2**15, high_open=True),
    "dropout": FRACTION,
    "p": FRACTION,
    "seed": Bound(low=0, high=2**32, high_open=True),
    "num_threads": Bound(low=1, meaning="null: torch's default"),
    "num_workers": NOT_NEGATIVE,
    "data_fraction": Bound(low=0, high=1, low_open=True),
    "min_free_mb": NOT_NEGATIVE,
    # A lesson has a length (Lightning's -1, "forever", is refused), and one that a progress line can
    # still follow.
    "epochs": Bound(low=1, high=10**7),
    "max_epochs": Bound(low=1, high=10**6),
    "min_epochs": NOT_NEGATIVE,
    "max_steps": Bound(low=1, special=(-1,), meaning="-1: no limit"),
    "num_nodes": AT_LEAST_ONE,
    "check_val_every_n_epoch": Bound(low=1, meaning="null: by steps"),
    "every_n_epochs": AT_LEAST_ONE,
    "resolution": Bound(low=2),  # points a side of a decision-region grid
    "max_points": NOT_NEGATIVE,  # points a figure shows
    "log_every_n_steps": Bound(low=1, meaning="0 would log no training curve at all"),
    "accumulate_grad_batches": AT_LEAST_ONE,
    "gradient_clip_val": NOT_NEGATIVE,
}


def _bound(key: str, owner: Any) -> Bound | None:
    return {**BOUNDS, **getattr(owner, "BOUNDS", {})}.get(key)


def _check_range(full_key: str, value: Any, bound: Bound, problems: list[str]) -> None:
    values = list(value) if isinstance(value, ListConfig) else [value]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    bad = [v for v in numbers if not bound.admits(v)]
    if bad:
        shown = OmegaConf.to_container(value) if isinstance(value, ListConfig) else value
        each = "each value " if isinstance(value, ListConfig) else ""
        problems.append(f"{full_key}={shown!r} is out of range: {each}must be {bound.describe()}")


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


def _check_value(
    node: DictConfig, key: str, full_key: str, hint: Any, problems: list[str], owner: Any = None
) -> None:
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
        return
    bound = _bound(key, owner)
    if bound is not None:
        _check_range(full_key, value, bound, problems)


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
            _check_value(node, key, full_key, hints.get(key), problems, obj)
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
        children = [(key, f"{path}.{key}" if path else str(key)) for key in node]
    elif isinstance(node, ListConfig):
        children = [(index, f"{path}[{index}]") for index in range(len(node))]
    else:
        return
    for key, where in children:
        if not OmegaConf.is_interpolation(node, key):  # interpolations are checked where they point
            _walk(node[key], where, problems)


def _target_class(node: Any) -> Any:
    """The class a config node's `_target_` names, or None (a bad target is reported by _check_target)."""
    try:
        return get_object(node._target_) if isinstance(node, DictConfig) and "_target_" in node else None
    except Exception:
        return None


def _check_monitor(cfg: DictConfig, problems: list[str]) -> None:
    """`monitor` must be a metric the lesson's model logs, or the error comes after the first epoch."""
    model = _target_class(cfg.get("model"))
    logged = model.monitorable() if hasattr(model, "monitorable") else None
    if logged is not None and cfg.get("monitor") not in logged:
        close = difflib.get_close_matches(str(cfg.get("monitor")), logged, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        problems.append(
            f"monitor={cfg.get('monitor')!r} is not a metric this lesson logs.{hint} "
            f"It logs: {', '.join(logged)}"
        )


def _check_classes(cfg: DictConfig, problems: list[str]) -> None:
    """The data's classes, `model.num_classes` and the network's outputs are one number: a mismatch
    fails mid-run (an IndexError in the loss), or trains to a meaningless accuracy."""
    counted = getattr(_target_class(cfg.get("data")), "classes_in", None)
    try:
        classes = counted(cfg.data) if counted else None
        outputs = {key: OmegaConf.select(cfg, key) for key in ("model.num_classes", "model.net.out_features")}
    except ConfigError as error:
        problems.append(str(error))
        return
    except (OmegaConfBaseException, TypeError):
        return  # reported by the type checks
    wrong = {key: value for key, value in outputs.items() if isinstance(value, int) and value != classes}
    if classes and wrong:
        given = ", ".join(f"{key}={value}" for key, value in wrong.items())
        problems.append(
            f"the data has {classes} classes, but {given}: set {' '.join(f'{k}={classes}' for k in wrong)}"
        )


# Losses on a classifier's logits and class indices; any other compares tensors of one shape.
CLASS_LOSSES = (torch.nn.CrossEntropyLoss, torch.nn.MultiMarginLoss)
LOSS_ADVICE = {  # by whether the model is a classifier
    True: "outputs one logit per class and learns from class indices: use torch.nn.CrossEntropyLoss",
    False: "learns targets shaped like its output: use a loss comparing the two, e.g. torch.nn.MSELoss",
}


def _check_loss(cfg: DictConfig, problems: list[str]) -> None:
    """The loss must take what the model outputs and the data labels: another fails with a shape error
    on the first batch, or learns nothing."""
    model = cfg.get("model")
    loss = _target_class(model.get("loss") if isinstance(model, DictConfig) else None)
    if not isinstance(loss, type) or not isinstance(model_class := _target_class(model), type):
        return
    classifier = "num_classes" in inspect.signature(model_class).parameters
    if classifier != issubclass(loss, CLASS_LOSSES):
        problems.append(
            f"model.loss={model.loss._target_} does not fit lesson {cfg.get('lesson_name')}: its model "
            f"{LOSS_ADVICE[classifier]} (or drop the override)"
        )


def _check_length(cfg: DictConfig, problems: list[str]) -> None:
    """A full-batch lesson's length is its `epochs` (the notes', one update each), served
    `data.steps_per_epoch` a Lightning epoch; a `trainer.max_epochs` of its own would say otherwise."""
    data, trainer = cfg.get("data"), cfg.get("trainer")
    if (
        not isinstance(data, DictConfig)
        or not isinstance(trainer, DictConfig)
        or "steps_per_epoch" not in data
    ):
        return
    try:
        full_batch, epochs = data.batch_size is None, cfg.epochs
        per_epoch, lightning = data.steps_per_epoch, trainer.max_epochs
    except OmegaConfBaseException:
        return  # reported by the type checks
    if full_batch and (lightning != epochs // per_epoch or epochs % per_epoch):
        problems.append(
            f"this lesson trains full-batch: its length is epochs={epochs} (the notes' epochs, one update "
            f"each), {per_epoch} to a Lightning epoch; set epochs=<n> rather than trainer.max_epochs, "
            "and a data.steps_per_epoch that divides it"
        )


def check_config(cfg: DictConfig) -> list[str]:
    """Every problem found in the config, each naming its key; empty when the config is sound."""
    problems: list[str] = []
    for key, hint in typing.get_type_hints(RunSettings).items():
        if key in cfg:
            _check_value(cfg, key, key, hint, problems, RunSettings)
        else:
            problems.append(f"top-level key '{key}' is missing")
    _walk(cfg, "", problems)
    _check_monitor(cfg, problems)
    _check_length(cfg, problems)
    _check_classes(cfg, problems)
    _check_loss(cfg, problems)
    return problems
