"""The run's TensorBoard writer, for the callbacks that draw."""

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter


def tensorboard_writer(trainer: L.Trainer) -> SummaryWriter | None:
    """The TensorBoard writer on the main process, or None (another logger, or another rank)."""
    if not trainer.is_global_zero:
        return None
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None
