"""Checkpointing that costs nothing on the epochs it does not save at."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from lightning_lessons.callbacks.stepless import skip_unused_training_hooks
from lightning_lessons.checkpoints import link_checkpoint


class LessonCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` (same arguments) that skips its per-step and per-epoch bookkeeping between saves.

    Lightning's version deep-copies every logged metric at the end of each epoch even when it will
    not save; for the 10,000 one-step epochs of the regression lessons that was a third of a step.
    On the epochs it does save at, it behaves exactly as `ModelCheckpoint`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        skip_unused_training_hooks(self)

    @property
    def state_key(self) -> str:
        # Lightning's key also holds the cadence, which follows max_epochs here (`every`): resuming
        # with more epochs would then not find the best-model bookkeeping in the checkpoint. The key
        # is also formatted for every hook call of every step, so it is computed once.
        if "_cached_state_key" not in self.__dict__:
            self._cached_state_key = self._generate_state_key(monitor=self.monitor, mode=self.mode)
        return self._cached_state_key

    def on_train_batch_end(self, trainer: L.Trainer, *args: object, **kwargs: object) -> None:
        # Saves by step or by time are off in the lessons' configs; skip the checks made every step.
        if self._every_n_train_steps >= 1 or self._train_time_interval is not None:
            super().on_train_batch_end(trainer, *args, **kwargs)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        every = self._every_n_epochs
        if every >= 1 and (trainer.current_epoch + 1) % every == 0:
            if self.save_last is True and self.dirpath:
                # Named before best.ckpt is written, so its state names last.ckpt as last.ckpt's own does.
                self.last_model_path = os.path.join(
                    self.dirpath, self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION
                )
            super().on_train_epoch_end(trainer, pl_module)

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        self._written = (filepath, trainer.global_step)

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict) -> None:
        """last.ckpt as a hard link to best.ckpt when best.ckpt was just written at this very step: the same
        state, so not dumped, serialised, written and flushed to disk a second time (R1-R4 improve at
        nearly every validation, and a save cost ~5 ms of a 1-2 s run, more on a busy disk)."""
        last = os.path.join(self.dirpath or "", self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION)
        if (
            self.save_last is True
            and trainer.world_size == 1
            and self.last_model_path == last
            and getattr(self, "_written", None) == (self.best_model_path, trainer.global_step)
            and link_checkpoint(Path(self.best_model_path), Path(last))
        ):
            return
        super()._save_last_checkpoint(trainer, monitor_candidates)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Saves happen every few epochs; last.ckpt must hold the end of training. Saved here, in the
        # training processes, so a multi-process run keeps its optimizer state too.
        # Not after fast_dev_run (debug=fast): a one-batch check must leave nothing that resume or T1's
        # source lookup would take for a trained run.
        if self.dirpath and not trainer.fast_dev_run and trainer.global_step != self._last_global_step_saved:
            last = Path(self.dirpath) / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"
            trainer.save_checkpoint(last, weights_only=False)
            self.last_model_path = str(last)
