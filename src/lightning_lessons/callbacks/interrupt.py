"""Ctrl+C and SIGTERM: the fit stops where it is, saved, and says how to go on."""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_lessons.results.checkpoints import MID_EPOCH


class InterruptCheckpoint(L.Callback):
    """Lightning ends a fit on SIGINT (KeyboardInterrupt) and, after the current step, on SIGTERM
    (`SIGTERMException`); both reach `on_exception`. A single process then saves `last.ckpt` where it
    stopped, so a resume loses no step. With several processes a peer may already be gone and saving
    is collective: they keep their last epoch-end checkpoint. `signum` tells the caller what happened."""

    def __init__(self, dirpath: str, filename: str = "last") -> None:
        super().__init__()
        self.path = Path(dirpath) / f"{filename}.ckpt"
        self.signum: signal.Signals | None = None

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.signum = signal.SIGINT
        elif isinstance(exception, SIGTERMException):
            self.signum = signal.SIGTERM
        if self.signum is not None and trainer.world_size == 1:
            trainer.save_checkpoint(self.path, weights_only=False)  # the whole state: a resume needs it

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        checkpoint[MID_EPOCH] = self.signum is not None


@contextmanager
def signals_reach_every_process(trainer: L.Trainer) -> Iterator[None]:
    """When Lightning starts a fit's processes from this one (ddp_fork, ddp_spawn), a signal sent to
    this process alone would leave them training. Stop them as Lightning's own launchers do on Ctrl+C
    (SIGKILL: a stopping peer would wait in a collective for one already gone; their last epoch-end
    checkpoint, written atomically, stays), then stop here. SLURM and torchrun signal every process."""
    launcher = trainer.strategy.launcher
    if (
        trainer.world_size == 1
        or launcher is None
        or trainer.strategy.cluster_environment.creates_processes_externally
    ):
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        launcher.kill(signal.SIGKILL)
        raise KeyboardInterrupt if signum == signal.SIGINT else SIGTERMException()

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
