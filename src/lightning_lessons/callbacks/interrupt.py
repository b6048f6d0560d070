"""Ctrl+C and SIGTERM: the fit stops where it is, saved, and says how to go on."""

import signal
from pathlib import Path

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
