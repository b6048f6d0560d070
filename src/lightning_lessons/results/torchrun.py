"""Runs that torchrun starts: one run folder for every process of the job, on every node and after
every restart, and a restarted job that continues the run from its last.ckpt.

torchrun gives each process its job's id (`--rdzv-id`; `--standalone` and a one-node torchrun draw a
random one) in TORCHELASTIC_RUN_ID. The run folder is named after it, `<lesson>/torchrun-<id>`
(config.stamp), as a SLURM job step's folder is after its ids. Whether a start continues the run is
read from that folder, the same for every process: its count of restarts (TORCHELASTIC_RESTART_COUNT)
is each node's own, and a node whose processes did not fail restarts them without counting.
Lightning reads the rest of torchrun's environment itself (`TorchElasticEnvironment`).
"""

import logging
import os
from pathlib import Path

from lightning_lessons.config import TORCHRUN_JOB

log = logging.getLogger(__name__)

NO_ID = "none"  # torchrun's `--rdzv-id` when none is given to a static rendezvous (--master-port, nodes)


def job_id() -> str | None:
    """The id of the torchrun job this process belongs to; None outside torchrun."""
    return os.environ.get(TORCHRUN_JOB)


def job_id_problem() -> str | None:
    """Why this torchrun job's id cannot name its run folder, or None."""
    job = job_id()
    if job == NO_ID:
        return (
            "torchrun gave this job no id, so its processes on other nodes and after a restart cannot "
            "find one run folder: give the job a name, the same on every node: torchrun --rdzv-id=<name> ..."
        )
    if job is not None and (Path(job).name != job or job.startswith(".")):
        return f"torchrun --rdzv-id={job} cannot name a run folder: use letters, digits, '-', '_' and '.'"
    return None


def trainer_problem(devices: object, num_nodes: object) -> str | None:
    """Lightning's processes must be torchrun's (it refuses a product of devices and nodes other than the
    world size, with a traceback in every process): said once, before any folder exists."""
    world, local = int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    if isinstance(devices, int) and isinstance(num_nodes, int) and devices * num_nodes == world:
        return None
    return (
        f"torchrun started {world} processes, {local} a node, and the trainer asks for trainer.devices="
        f"{devices} on trainer.num_nodes={num_nodes}: set trainer=ddp trainer.devices={local} "
        f"trainer.num_nodes={world // local} (and trainer.accelerator=cpu without GPUs)"
    )


def restart_problem() -> str | None:
    """Why processes that torchrun restarted cannot form their group again, or None. torch 2.14's
    torchrun hands them the store it shares with its processes, still holding the previous attempt's
    addresses: gloo then waits for peers that are gone (pytorch/pytorch#135712, #167288)."""
    restarts = int(os.environ.get("TORCHELASTIC_RESTART_COUNT") or 0)
    if restarts == 0 or os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    return (
        f"torchrun restarted this job (restart {restarts}) through the store it shares with its processes, "
        "where the previous attempt's addresses stay: the group cannot form again. For restarts, start "
        "torchrun with TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 and the c10d rendezvous (docs/torchrun.md)"
    )


def continued_checkpoint(last: Path) -> str | None:
    """The run's `last.ckpt` under torchrun: the job was restarted (a process died) or started again
    with the same id, and continues where the run stands (cli.torchrun_problem let it)."""
    if job_id() is None or not last.is_file():
        return None
    if os.environ.get("RANK", "0") == "0":  # said once for all the job's processes
        log.info(f"torchrun job {job_id()} continues its run from {last}")
    return str(last)
