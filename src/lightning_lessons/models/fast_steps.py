"""What makes a lesson's step cheap, apart from what a learner reads in `base.py`. Each piece says the
measured reason; the tiny full-batch lessons spend more time in Lightning's machinery than in their maths."""

from __future__ import annotations

import math
from collections.abc import Callable

import lightning as L
import torch
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from torch import Tensor

from lightning_lessons.errors import TrainingDiverged
from lightning_lessons.engine.workarounds import (
    CheapHookName,
    attached_trainer,
    count_update,
    set_logging_step,
    update_counter,
)

UPDATE_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad")


def _update_hooks_in_use(trainer: L.Trainer) -> bool:
    """Whether anything would see an update's hooks (a callback or the module overriding one), or the
    backward pass and step need Lightning's handling (several processes, a precision plugin's scaling)."""
    if type(trainer.precision_plugin) is not Precision or not isinstance(
        trainer.strategy, SingleDeviceStrategy
    ):
        return True
    module = trainer.lightning_module
    for hook in UPDATE_HOOKS:
        if getattr(type(module), hook) is not getattr(L.LightningModule, hook):
            return True
        if any(
            callable(getattr(c, hook, None)) and getattr(type(c), hook) is not getattr(L.Callback, hook)
            for c in trainer.callbacks
        ):
            return True
    return False


class FastSteps(CheapHookName, L.LightningModule):
    """LightningModule mixin: several of the notes' full-batch epochs in one step (LessonTrainer), plain
    updates where no hook would see them, on-device batches passed through, and `self.log` only at the
    steps a logger writes. Lessons implement `loss_step` (and `update`, to update by hand)."""

    _plain_updates = False
    _updates_left = 0  # in a step of several updates, how many follow the running one
    _logs: bool | None = None  # in such a step: whether the running update logs
    _step_counter = None  # Lightning's count of manual optimizer steps, during a step

    @property
    def epochs_per_step(self) -> int:
        """How many of the notes' epochs one training step runs (LessonTrainer); 0: Lightning's own
        optimization, one update a step. (Lightning's one-step epoch costs 2-3 ms; R2's update 1 ms.)"""
        return getattr(attached_trainer(self), "epochs_per_step", 0)

    @property
    def automatic_optimization(self) -> bool:
        # Several updates in one step (or a lesson that updates by hand) step the optimizer themselves.
        return self.__dict__.get("_lesson_automatic", True) and not self.epochs_per_step

    @automatic_optimization.setter
    def automatic_optimization(self, automatic: bool) -> None:
        self.__dict__["_lesson_automatic"] = automatic

    def loss_step(self, batch: tuple[Tensor, ...]) -> Tensor:
        """The training loss of one batch (logging the lesson's training metrics at logging steps)."""
        raise NotImplementedError

    def training_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        """One update, or `epochs_per_step` of the notes' full-batch epochs in a row on the same batch."""
        if self.automatic_optimization:
            return self.loss_step(batch)
        trainer, epochs_per_step = self.trainer, self.epochs_per_step
        per_step = max(1, epochs_per_step)
        # What every update of the step would otherwise look up through a dozen properties (~20 us an
        # update, a sixth of R1's): Lightning's step counter, and (one update an epoch) which update logs.
        # Set with object.__setattr__: nn.Module's own bookkeeping would cost as much again.
        set_attribute = object.__setattr__
        set_attribute(self, "_step_counter", update_counter(trainer))
        first, every, last = self.global_step, trainer.log_every_n_steps, trainer.max_epochs
        for index in range(per_step):
            set_attribute(self, "_updates_left", per_step - 1 - index)
            if epochs_per_step:
                done = first + index  # updates before this one; the run's last update is its last epoch's
                set_attribute(self, "_logs", bool(every) and ((done + 1) % every == 0 or done + 1 >= last))
            loss = self.update(batch)
            if not math.isfinite(loss.item()):  # stop at the very update, not at the end of the step
                set_attribute(self, "_logs", None)
                epoch = trainer.current_epoch - per_step + 1 + index
                raise TrainingDiverged(self.divergence_message("training", loss.item(), epoch))
        set_attribute(self, "_logs", None)
        if epochs_per_step > 1:
            # TensorBoard's x-axis and the logging cadence count updates, as with one update a step.
            set_logging_step(trainer, self.global_step - 1)
        return loss

    def update(self, batch: tuple[Tensor, ...]) -> Tensor:
        """One of the notes' updates by the configured optimizer: zero_grad, loss, backward, step."""
        optimizer = self.optimizers()
        optimizer.zero_grad()
        loss = self.loss_step(batch)
        self.backward_loss(loss)
        if self._plain_updates:
            optimizer.optimizer.step()
            self.count_step()
        else:
            optimizer.step()
        return loss.detach()

    def on_train_start(self) -> None:
        # Lightning's backward and step wrappers cost more than R1's whole update (~0.3 ms).
        self._plain_updates = self.epochs_per_step > 0 and not _update_hooks_in_use(self.trainer)

    def backward_loss(self, loss: Tensor) -> None:
        """`manual_backward`, or the plain `loss.backward()` where it would do nothing more."""
        if self._plain_updates:
            loss.backward()
        else:
            self.manual_backward(loss)

    def count_step(self) -> None:
        """Count an update no Lightning optimizer made: `global_step` follows it, and checkpoints after
        the first are not skipped as "already saved"."""
        count_update(self._step_counter or update_counter(self.trainer))

    def transfer_batch_to_device(self, batch: object, device: torch.device, dataloader_idx: int) -> object:
        # Lesson data already lives on the Trainer's device (TensorDataModule): skip the walk over the
        # batch that would move each tensor to where it already is.
        if isinstance(batch, (tuple, list)) and all(
            isinstance(t, Tensor) and t.device == device for t in batch
        ):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def should_log_step(self) -> bool:
        """`self.log` costs more than a whole step of the full-batch lessons: only at the steps the
        loggers write (`trainer.log_every_n_steps`) and the last one."""
        if self._logs is not None:  # decided by the running step (training_step)
            return self._logs
        trainer = self.trainer
        every = trainer.log_every_n_steps
        if not every:  # logging is off (log_every_n_steps=0, or a barebones Trainer)
            return False
        last = trainer.is_last_batch and trainer.current_epoch + 1 >= trainer.max_epochs
        return last or (self.global_step + 1) % every == 0

    def log_train(self, batch_size: int, **metrics: Callable[[], Tensor] | Tensor) -> None:
        """Log `train/<name>` at logging steps; a callable value is computed only then.

        Inside a step of several updates (LessonTrainer) a logging update that is not the step's last
        writes its row to the loggers at once, at the x-axis step and epoch one update a step gives it:
        the logging cadence then does not limit how many updates a step holds (C1 logs every 5 of its
        1,000 epochs). Lightning writes the step's own row at its end, from `self.log`, which is left
        to the step's last logging update (an earlier one's values would be replaced before they are read).
        """
        if not self.should_log_step():
            return
        values = {f"train/{name}": value() if callable(value) else value for name, value in metrics.items()}
        left = self._updates_left
        if not left or not self._logs_later_in_step(left):
            self.log_dict(values, prog_bar=True, batch_size=batch_size)
        if left:  # the row Lightning's logger connector would write, less its flush to disk after each one
            step = self.global_step  # (TensorBoard's writer flushes every 10 events, Lightning at the end)
            row = {**{name: value.item() for name, value in values.items()}, "epoch": step}
            for logger in self.trainer.loggers:
                logger.log_metrics(row, step=step)

    def _logs_later_in_step(self, left: int) -> bool:
        """Whether one of the `left` updates that follow in this step logs too."""
        return (
            self.trainer.log_every_n_steps <= left or self.global_step + 1 + left >= self.trainer.max_epochs
        )
