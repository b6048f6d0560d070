"""Where the configs live and how a command line becomes a checked config."""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
CONFIG_NAME = "train"


def every(total: int | None, times: int) -> int:
    """The interval that does something `times` times over `total` epochs (at least every epoch)."""
    return max(1, (total or 0) // times)


# A sweep's folder name, fixed by its first process: jobs that a launcher runs in processes of their
# own (submitit, SLURM) resolve the sweep folder again, and must find the same one.
SWEEP_STAMP = "LIGHTNING_LESSONS_SWEEP_STAMP"


def stamp() -> str:
    """`<date>_<time>_<pid>`: unique per process, so two runs started in the same second get two folders.

    In a SLURM job step (`srun`), `slurm-<job id>.<step id>` instead: every task of a multi-process
    run resolves its folder itself and must find the same one, and a requeued job, started again
    with the same ids, comes back to it (lightning_lessons.slurm.requeue).
    """
    job, step = os.environ.get("SLURM_JOB_ID"), os.environ.get("SLURM_STEP_ID")
    if job and step:
        return f"slurm-{job}.{step}"
    return f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{os.getpid()}"


def sweep_stamp() -> str:
    return os.environ.get(SWEEP_STAMP) or stamp()


def slurm_gpus(accelerator: str, devices: object) -> int | None:
    """`hydra.launcher.gpus_per_node`: the trainer's devices when they are GPUs, else no request at all
    (a cluster without GPUs refuses any GPU request, even `--gpus-per-node=0`)."""
    if accelerator not in ("gpu", "cuda"):
        return None
    if not isinstance(devices, int) or devices < 1:
        raise ValueError(f"on SLURM, set trainer.devices to the number of GPUs per node, not {devices!r}")
    return devices


def register_resolvers() -> None:
    """`${stamp:}` names run folders, `${sweep_stamp:}` sweep folders (see SWEEP_STAMP);
    `${every:${trainer.max_epochs},20}` validates, checkpoints and draws 20 times a run, however long;
    `${slurm_gpus:${trainer.accelerator},${trainer.devices}}` is what a SLURM job asks for."""
    if not OmegaConf.has_resolver("stamp"):
        OmegaConf.register_new_resolver("stamp", stamp, use_cache=True)
    if not OmegaConf.has_resolver("sweep_stamp"):
        OmegaConf.register_new_resolver("sweep_stamp", sweep_stamp, use_cache=True)
    if not OmegaConf.has_resolver("every"):
        OmegaConf.register_new_resolver("every", every)
    if not OmegaConf.has_resolver("slurm_gpus"):
        OmegaConf.register_new_resolver("slurm_gpus", slurm_gpus)


def compose(overrides: Sequence[str] = (), config_name: str = CONFIG_NAME) -> DictConfig:
    """The config Hydra would build for these overrides, without starting a run (tests, tools)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def override_key(override: str) -> str:
    """The key an override sets: `+model.net.width=3` -> `model.net.width`."""
    return override.split("=", 1)[0].lstrip("+~")


def _unknown_key(error: BaseException) -> str | None:
    while error is not None:
        if isinstance(error, OmegaConfBaseException) and "not in struct" in str(error):
            return error.full_key
        error = error.__cause__
    return None


def _explain_unknown_key(key: str, overrides: list[str], config_name: str) -> str:
    parent = key.rpartition(".")[0]
    others = [o for o in overrides if override_key(o) != key]
    try:
        node = compose(others, config_name)
        node = OmegaConf.select(node, parent) if parent else node
    except (HydraException, OmegaConfBaseException):
        node = None
    return explain_unknown_key(key, node)


def explain_unknown_key(key: str, node: object) -> str:
    """What to say about a key the config does not have: close keys, and what its parent `node` holds."""
    parent, _, name = key.rpartition(".")
    lines = [f"unknown config key '{key}'."]
    if isinstance(node, DictConfig):
        allowed = sorted(str(k) for k in node if not str(k).startswith("_"))
        target = node.get("_target_")
        takes = list(inspect.signature(get_object(target)).parameters) if target else []
        if name in takes:
            return f"'{key}' is not set by this config, though {target} takes it: add it with +{key}=<value>"
        close = difflib.get_close_matches(name, allowed + [t for t in takes if t not in allowed], n=3)
        # One level down too: `model.lr` is `model.optimizer.lr` in every lesson.
        close += [
            f"{child}.{name}"
            for child in allowed
            if not OmegaConf.is_interpolation(node, child)
            and isinstance(node[child], DictConfig)
            and name in node[child]
        ]
        prefix = f"{parent}." if parent else ""
        if close:
            lines.append("Did you mean: " + ", ".join(prefix + c for c in close) + "?")
        lines.append(f"Keys set under '{parent or '<top level>'}': " + (", ".join(allowed) or "(none)"))
        if target:
            lines.append(
                f"{target} takes more; add one the config does not set with '+': +{prefix}<name>=<value>"
            )
    return "\n".join(lines)


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """`key=value` overrides on a saved config (eval), refusing keys it does not have as `train` does."""
    from lightning_lessons.errors import ConfigError

    parser = OverridesParser.create()
    for override in overrides:
        try:
            parsed = parser.parse_override(override)
        except HydraException as error:
            raise ConfigError(str(error)) from error
        key = parsed.key_or_group
        parent, _, name = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if not isinstance(node, DictConfig) or (name not in node and not parsed.is_add()):
            raise ConfigError(explain_unknown_key(key, node))
        OmegaConf.update(cfg, key, parsed.value(), force_add=parsed.is_add())
    return cfg


def check_command_line(argv: Sequence[str], config_name: str = CONFIG_NAME) -> str | None:
    """Compose the config the command line asks for and check it; return what is wrong, or None.

    Runs before Hydra creates a run folder, so a bad override leaves nothing behind that looks like
    a result, and an unwritable or full log folder is reported before any work is done. Sweeps
    (`a=1,2` under `-m`) are left to each job's own check; Hydra's flags (`--help`, `--cfg`, ...)
    are left to Hydra.
    """
    from lightning_lessons.results.runs import log_folder_problem
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
        if key:
            return _explain_unknown_key(key, overrides, config_name)
        return str(error).split("\nConfig search path:")[0].strip()
    problems = check_config(cfg)
    if problems:
        return "\n".join(problems)
    return log_folder_problem(cfg.paths.log_dir, cfg.min_free_mb)
