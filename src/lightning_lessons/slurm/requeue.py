"""A SLURM job that reaches its time limit is requeued and continues where it stopped, in its own folder.

SLURM warns `signal_delay_s` before the limit (USR2 for submitit, USR1 for `sbatch --signal=USR1@120`).
`SlurmRequeue` takes both signals over for the fit and only notes them; every process stops at the end
of the same epoch with `last.ckpt` saved, `requeue_if_stopped` requeues the job, and the requeued job
(same id, same folder) continues from it (`requeued_checkpoint`). Lightning's own handler would save
mid-step, and a run resumed mid-epoch does not see the uninterrupted run's batches.
"""

import logging
import os
import signal
import subprocess
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)


def restart_count() -> int:
    """How many times SLURM has requeued this job (0 for a first start, and outside SLURM)."""
    return int(os.environ.get("SLURM_RESTART_COUNT") or 0)


def requeued_checkpoint(last: Path) -> str | None:
    """The run's `last.ckpt` when this process is a requeued SLURM job, for `train` to continue from."""
    if restart_count() == 0 or not last.is_file():
        return None
    if os.environ.get("SLURM_PROCID", "0") == "0":  # said once for all the job's processes
        log.info(f"SLURM requeued this job (restart {restart_count()}): continuing from {last}")
    return str(last)


class SlurmRequeue(L.Callback):
    """Stops the fit at the end of the epoch in which SLURM's time-limit signal arrives (see the module);
    does nothing outside a SLURM job, or without a checkpoint callback to save the state with."""

    def __init__(self) -> None:
        super().__init__()
        self.received: int | None = None  # the signal, once it has come
        self.stopped = False  # the fit was stopped for it
        self._previous: dict[int, Any] = {}  # the handlers it replaced (submitit's, or the default)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if (
            stage != "fit"
            or "SLURM_JOB_ID" not in os.environ
            or trainer.checkpoint_callback is None
            or threading.current_thread() is not threading.main_thread()
        ):
            return
        self._previous = {signum: signal.signal(signum, self._note) for signum in SIGNALS}
        for signum in SIGNALS:
            # Restart the system call the signal lands in (Python installs handlers without SA_RESTART):
            # a DDP process waiting on its peers' sockets must not fail with EINTR for a mere note.
            signal.siginterrupt(signum, False)
        # Its "SLURM auto-requeueing enabled" is about the SIGUSR1 handler that this one replaces.
        logging.getLogger("lightning.pytorch.trainer.connectors.signal_connector").setLevel(logging.WARNING)

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum  # nothing else: it may land anywhere in a step

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        last_epoch = trainer.current_epoch + 1 >= trainer.max_epochs > 0
        if not self._previous or last_epoch:
            return  # the last epoch ends the fit anyway; teardown hands the signal on
        # Every process must stop at the same epoch: the signal may reach them in different ones.
        if trainer.strategy.reduce_boolean_decision(self.received is not None, all=False):
            self.received = self.received or SIGNALS[-1]
            trainer.should_stop = True
            self.stopped = True
            if trainer.is_global_zero:
                log.warning(
                    f"SLURM sent {signal.Signals(self.received).name} (time limit near): stopping after "
                    f"epoch {trainer.current_epoch + 1} (step {trainer.global_step}) to save and requeue"
                )

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        if self.received is not None and not self.stopped and callable(self._previous.get(self.received)):
            signal.raise_signal(self.received)  # came too late to stop the fit: its owner decides

    def requeue(self, rank: int) -> None:
        """Requeue the job and end this process without a result (after the fit stopped)."""
        assert self.received is not None
        previous = self._previous.get(self.received)
        if callable(previous):
            # submitit's handler: on rank 0 it re-submits the Hydra job, requeues it and exits.
            previous(self.received, None)
        elif rank == 0:
            job = os.environ.get("SLURM_ARRAY_JOB_ID")
            job = f"{job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if job else os.environ["SLURM_JOB_ID"]
            subprocess.run(["scontrol", "requeue", job], check=True)
            log.warning(f"requeued SLURM job {job}")
        raise SystemExit(0)


def requeue_if_stopped(trainer: L.Trainer) -> None:
    """After `trainer.fit`: if `SlurmRequeue` stopped it, requeue the job and end this process."""
    for callback in trainer.callbacks:
        if isinstance(callback, SlurmRequeue) and callback.stopped:
            callback.requeue(trainer.global_rank)
