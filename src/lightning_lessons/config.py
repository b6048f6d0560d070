"""Where the configs live, the resolvers they use, and how a list of overrides becomes a config."""

import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
CONFIG_NAME = "train"


def every(total: int, times: int) -> int:
    """The interval that does something `times` times over `total` (at least every one)."""
    return max(1, total // times)


def chunk(epochs: int, times: int, batch_size: int | None) -> int:
    """The notes' epochs a full-batch lesson runs in one Lightning epoch: the largest divisor of
    `epochs` that gives at least `times` Lightning epochs, so validation, checkpoints and figures come
    about `times` times a run. With mini-batches, 1: an epoch is a pass over the data."""
    if batch_size is not None or not isinstance(epochs, int) or epochs < 1:
        return 1  # mini-batches; or an `epochs` the config check refuses in one line (0, 1e3)
    pairs = [(d, epochs // d) for d in range(1, math.isqrt(epochs) + 1) if epochs % d == 0]
    return max(d for pair in pairs for d in pair if d <= max(1, epochs // times))


def mode_for(monitor: str) -> str:
    """Whether the best checkpoint keeps the lowest or the highest `monitor`: accuracy, PSNR and SSIM
    (and their variants, `acc_gain`) are better higher, every loss and error lower."""
    return "max" if monitor.rpartition("/")[2].startswith(("acc", "psnr", "ssim")) else "min"


def log_every(epochs: int, batch_size: int | None) -> int:
    """Full batch: log about 200 of the notes' epochs (steps) a run; mini-batches: Lightning's 50."""
    return every(epochs, 200) if batch_size is None else 50


# A sweep's folder name, fixed by its first process: jobs that a launcher runs in processes of their
# own (submitit, SLURM) resolve the sweep folder again, and must find the same one.
SWEEP_STAMP = "LIGHTNING_LESSONS_SWEEP_STAMP"
TORCHRUN_JOB = "TORCHELASTIC_RUN_ID"  # torchrun's job id (--rdzv-id), the same in all its processes


def stamp() -> str:
    """`<date>_<time>_<pid>`: unique per process. In a SLURM job step, `slurm-<job>.<step>`, and under
    torchrun `torchrun-<job id>`: every process of a multi-process run must find the same folder, and a
    requeued or restarted job comes back to it."""
    job, step = os.environ.get("SLURM_JOB_ID"), os.environ.get("SLURM_STEP_ID")
    if job and step:
        return f"slurm-{job}.{step}"
    if os.environ.get(TORCHRUN_JOB):
        return f"torchrun-{os.environ[TORCHRUN_JOB]}"
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


def in_sweep() -> bool:
    """Whether this process runs a job of a Hydra multirun (a sweep, a search, a study)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def register_resolvers() -> None:
    """`${stamp:}` names run folders, `${sweep_stamp:}` sweep folders (see SWEEP_STAMP);
    `${every:n,4}` does something 4 times in n; `${chunk:...}`, `${div:...}` and `${log_every:...}` turn a
    lesson's `epochs` into Lightning epochs and a logging interval (conf/trainer/default.yaml);
    `${slurm_gpus:${trainer.accelerator},${trainer.devices}}` is what a SLURM job asks for."""
    resolvers = {"every": every, "chunk": chunk, "log_every": log_every, "div": lambda a, b: a // b}
    resolvers |= {"mode_for": mode_for, "add": lambda a, b: a + b}  # add: a resumed search's job folders
    resolvers |= {"slurm_gpus": slurm_gpus, "stamp": stamp, "sweep_stamp": sweep_stamp}
    for name, function in resolvers.items():
        if not OmegaConf.has_resolver(name):
            # A folder's name is fixed once a process resolves it.
            OmegaConf.register_new_resolver(name, function, use_cache=name.endswith("stamp"))


def compose(
    overrides: Sequence[str] = (), config_name: str = CONFIG_NAME, with_hydra: bool = False
) -> DictConfig:
    """The config Hydra would build for these overrides, without starting a run (tests, tools);
    `with_hydra`: with Hydra's own settings under `hydra` (where the run folder would be)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(
            config_name=config_name, overrides=list(overrides), return_hydra_config=with_hydra
        )
