"""Checkpointing that costs nothing on the epochs it does not save at."""

from __future__ import annotations

from typing import Any

import lightning as L

from lightning_lessons.engine.workarounds import (
    LinkedLastCheckpoint,
    checkpoint_cadence,
    checkpoint_state_key,
    last_saved_step,
    skip_unused_training_hooks,
)


class LessonCheckpoint(LinkedLastCheckpoint):
    """`ModelCheckpoint` (same arguments) that skips its per-step and per-epoch bookkeeping between saves.

    Lightning's version deep-copies every logged metric at the end of each epoch even when it will
    not save; for the 10,000 one-step epochs of the regression lessons that was a third of a step.
    On the epochs it does save at, it behaves exactly as `ModelCheckpoint`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        skip_unused_training_hooks(self)
        _, every_n_steps, interval = checkpoint_cadence(self)
        if every_n_steps < 1 and interval is None:
            # Saves by step or by time are off (as in the lessons' configs): nothing to check each step.
            self.on_train_batch_end = None

    @property
    def state_key(self) -> str:
        # Lightning's key also holds the cadence, which follows max_epochs here (`every`): resuming
        # with more epochs would then not find the best-model bookkeeping in the checkpoint. The key
        # is also formatted for every hook call of every step, so it is computed once.
        if "_cached_state_key" not in self.__dict__:
            self._cached_state_key = checkpoint_state_key(self)
        return self._cached_state_key

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        every = checkpoint_cadence(self)[0]
        if every >= 1 and (trainer.current_epoch + 1) % every == 0:
            self.name_last_before_saving()
            super().on_train_epoch_end(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Saves happen every few epochs; last.ckpt must hold the end of training. Saved here, in the
        # training processes, so a multi-process run keeps its optimizer state too.
        # Not after fast_dev_run (debug=fast): a one-batch check must leave nothing that resume or T1's
        # source lookup would take for a trained run.
        if self.dirpath and not trainer.fast_dev_run and trainer.global_step != last_saved_step(self):
            trainer.save_checkpoint(self.last_path, weights_only=False)
            self.last_model_path = self.last_path
