"""A real `kill` at a known point of a run, for the resume and signal tests."""

import os
import signal

import lightning as L
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf


class KillAtStep(L.Callback):
    """Sends its own process `$KILL_SIGNAL` (SIGKILL unless set) at the first step end with at least
    `$KILL_AT_STEP` optimizer steps done, when that is set: the resumed run (started without it) goes
    on to the end. In a sweep, `$KILL_IN_JOB` names the job (Hydra's job number) that is killed, and
    `$FAIL_IN_JOB` one that raises an error there instead (a failed job)."""

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        # $KILL_RANK: that process of several alone; the processes torchrun restarts go on to the end.
        rank, restarted = str(trainer.global_rank), os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") != "0"
        if os.environ.get("KILL_RANK", rank) != rank or restarted:
            return
        wanted = os.environ.get("KILL_AT_STEP")
        if not wanted or trainer.global_step < int(wanted):  # a step may hold several updates
            return
        # A sweep's job number; none in a single run (Hydra leaves its hydra.job.num missing there).
        num = OmegaConf.select(HydraConfig.get(), "job.num") if HydraConfig.initialized() else None
        job = None if num is None else str(num)
        if job is not None and os.environ.get("FAIL_IN_JOB") == job:
            raise RuntimeError(f"job {job} fails on purpose")
        if os.environ.get("KILL_IN_JOB", job) != job:
            return
        os.environ.pop("KILL_AT_STEP")  # once: Lightning finishes the step after SIGTERM
        # $KILL_PARENT: the process that started this one (ddp_fork's main process) instead.
        target = os.getppid() if os.environ.get("KILL_PARENT") else os.getpid()
        os.kill(target, signal.Signals[os.environ.get("KILL_SIGNAL", "SIGKILL")])
