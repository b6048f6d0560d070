"""The cadence of the callbacks that draw: every n of the notes' epochs, and once more at the end."""

import lightning as L
from torch.utils.tensorboard import SummaryWriter

from lightning_lessons.callbacks.tensorboard import tensorboard_writer
from lightning_lessons.errors import ConfigError


class EveryNEpochs(L.Callback):
    """Calls `draw` every `every_n_epochs` training epochs and once more at the end of training."""

    def __init__(self, every_n_epochs: int) -> None:
        if every_n_epochs < 1:
            raise ConfigError(f"every_n_epochs must be at least 1, got {every_n_epochs}")
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
