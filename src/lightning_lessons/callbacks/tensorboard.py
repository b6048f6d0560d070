"""Access to the run's TensorBoard writer for callbacks that draw."""

from __future__ import annotations

import io

import lightning as L
import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger
from PIL import Image
from torch.utils.tensorboard import SummaryWriter

from lightning_lessons.callbacks.stepless import StepFreeCallback
from lightning_lessons.errors import ConfigError


def add_png(writer: SummaryWriter, tag: str, image: np.ndarray, step: int) -> None:
    """`writer.add_image(tag, image, step, dataformats="HWC")` for an `H x W x 3` uint8 frame, the same
    event, in ~2 ms instead of ~5.5: PNG's fastest compression (files ~10% larger) and no conversions
    of an image that is already what TensorBoard stores. For the figures redrawn 20 times a run."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    height, width, channels = image.shape
    png = Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=buffer.getvalue()
    )
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=png)]), step)


def tensorboard_writer(trainer: L.Trainer) -> SummaryWriter | None:
    """The TensorBoard writer on the main process, or None (another logger, or another rank)."""
    if not trainer.is_global_zero:
        return None
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


class EveryNEpochs(StepFreeCallback):
    """Calls `draw` every `every_n_epochs` training epochs and once more at the end of training."""

    def __init__(self, every_n_epochs: int) -> None:
        if every_n_epochs < 1:
            raise ConfigError(f"every_n_epochs must be at least 1, got {every_n_epochs}")
        super().__init__()
        self.every_n_epochs = every_n_epochs
        self._last_step = -1

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, writer: SummaryWriter) -> None:
        raise NotImplementedError

    def _maybe_draw(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is not None and trainer.global_step != self._last_step:
            self._last_step = trainer.global_step
            self.draw(trainer, pl_module, writer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self._maybe_draw(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._maybe_draw(trainer, pl_module)
