"""What every lesson's LightningModule shares: network, loss, logging cadence, optimizer."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import lightning as L
import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torchmetrics import MeanMetric

from lightning_lessons.errors import ConfigError, TrainingDiverged

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
RNG_KEY = "rng_states"


def rng_states() -> dict[str, Any]:
    """The state of the generators training draws from: torch's, on the CPU and each GPU. (The lessons
    draw nothing from Python's or NumPy's; tensors also keep the checkpoint loadable with weights_only.)"""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda}


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


UPDATE_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad")


def _update_hooks_in_use(trainer: L.Trainer) -> bool:
    """Whether anything would see an update's hooks (a callback or the module overriding one), or the
    backward pass and step need Lightning's handling (several processes, a precision plugin's scaling).
    The several updates of a full-batch step make theirs plainly otherwise: those hooks and wrappers cost
    more than the notes' whole update (R1: ~0.3 ms)."""
    from lightning.pytorch.plugins.precision import Precision
    from lightning.pytorch.strategies import SingleDeviceStrategy

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


class LessonModule(L.LightningModule):
    """Trains any plain `nn.Module` (`net`) with a loss module and an optimizer partial from the config.

    Training metrics are logged only at the steps the loggers write (`trainer.log_every_n_steps`)
    and at the last step: `self.log` costs more than a whole step of the tiny full-batch lessons,
    and the values in between would never reach a logger anyway.
    """

    # What it logs as `train/<name>` and `val/<name>` (and `test/<name>`): what `monitor` may name.
    TRAIN_METRICS: ClassVar[tuple[str, ...]] = ("loss",)
    EVAL_METRICS: ClassVar[tuple[str, ...]] = ("loss",)

    @classmethod
    def monitorable(cls) -> list[str]:
        """The metrics a fit logs, which the best checkpoint and sweeps can follow (checked up front)."""
        return [f"train/{name}" for name in cls.TRAIN_METRICS] + [f"val/{name}" for name in cls.EVAL_METRICS]

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module | None = None,
        optimizer: OptimizerFactory | None = None,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.net = net.to(memory_format=torch.channels_last) if channels_last else net
        self.loss_fn = loss if loss is not None else nn.MSELoss()
        self.optimizer_factory = optimizer
        self.channels_last = channels_last
        # The loss over a whole split, weighted by batch size: with several processes, torchmetrics
        # gathers every process's sums, so `val/loss` is the loss over the whole set, not a mean of means.
        self.mean_loss = nn.ModuleDict({stage: MeanMetric() for stage in ("val", "test")})
        self._plain_updates = False
        self._updates_left = 0  # in a step of several updates, how many follow the running one
        self._logs: bool | None = None  # in such a step: whether the running update logs
        self._step_counter = None  # Lightning's count of manual optimizer steps, during a step

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.memory_format(x))

    def memory_format(self, x: Tensor) -> Tensor:
        """Images in channels_last when asked: the CPU's convolutions then skip layout conversions
        (MNIST CNN: -15%)."""
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    @property
    def epochs_per_step(self) -> int:
        """How many of the notes' epochs one training step runs (LessonTrainer); 0: Lightning's own
        optimization, one update a step."""
        return getattr(self._trainer, "epochs_per_step", 0)

    @property
    def automatic_optimization(self) -> bool:
        # Several updates in one step (or a lesson that updates by hand) step the optimizer themselves.
        return self._automatic_optimization and not self.epochs_per_step

    @automatic_optimization.setter
    def automatic_optimization(self, automatic: bool) -> None:
        self._automatic_optimization = automatic

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
        set_attribute(
            self, "_step_counter", trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
        )
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
                raise TrainingDiverged(self._divergence_message("training", loss.item(), epoch))
        set_attribute(self, "_logs", None)
        if epochs_per_step > 1:
            # Lightning's logging step, which TensorBoard's x-axis and the logging cadence follow, counts
            # batches: keep it counting updates, as with one update a step (it adds this batch's one).
            self.trainer.fit_loop.epoch_loop._batches_that_stepped = self.global_step - 1
        return loss

    def loss_step(self, batch: tuple[Tensor, ...]) -> Tensor:
        """The training loss of one batch (logging the lesson's training metrics at logging steps)."""
        raise NotImplementedError

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
        self._plain_updates = self.epochs_per_step > 0 and not _update_hooks_in_use(self.trainer)

    def backward_loss(self, loss: Tensor) -> None:
        """`manual_backward`, or the plain `loss.backward()` where it would do nothing more."""
        if self._plain_updates:
            loss.backward()
        else:
            self.manual_backward(loss)

    def count_step(self) -> None:
        """Count an update that no Lightning optimizer made, as Lightning counts its own: `global_step`
        follows it, and checkpoints after the first are not skipped as "already saved"."""
        progress = (
            self._step_counter or self.trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
        )
        progress.increment_ready()
        progress.increment_completed()

    def __setattr__(self, name: str, value: object) -> None:
        # Lightning records the running hook's name on the module around every hook call, dozens
        # of times a step; `nn.Module.__setattr__` would look for parameters and submodules each time.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def transfer_batch_to_device(self, batch: object, device: torch.device, dataloader_idx: int) -> object:
        # Lesson data already lives on the Trainer's device (see TensorDataModule): skip the walk
        # over the batch that would move each tensor to where it already is.
        if isinstance(batch, (tuple, list)) and all(
            isinstance(t, Tensor) and t.device == device for t in batch
        ):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Dropout, D1/D2's training noise and other random layers draw from the global generators:
        # with their state in the checkpoint, a resumed run draws what the uninterrupted one would.
        checkpoint[RNG_KEY] = rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if RNG_KEY in checkpoint:
            restore_rng_states(checkpoint[RNG_KEY])

    def configure_optimizers(self) -> Optimizer:
        if self.optimizer_factory is None:
            raise ConfigError("model.optimizer is not set: give an optimizer partial, e.g. torch.optim.SGD")
        return self.optimizer_factory(self.parameters())

    def on_train_batch_end(self, outputs: Tensor | dict[str, Tensor], batch: object, batch_idx: int) -> None:
        # A NaN loss poisons every later step and checkpoint: stop at once.
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        # `math.isfinite(loss.item())`: 1 us, where `torch.isfinite(loss)` costs 13 us a step here.
        if isinstance(loss, Tensor) and loss.numel() == 1 and not math.isfinite(loss.item()):
            raise TrainingDiverged(self._divergence_message("training", loss.item()))

    def on_validation_batch_end(self, outputs: Tensor, batch: object, batch_idx: int) -> None:
        # Checkpoints are saved after validation: weights whose validation loss is not finite are
        # stopped here, so the last checkpoint on disk is always a good one.
        if (
            self.trainer.state.fn == "fit"
            and isinstance(outputs, Tensor)
            and not torch.isfinite(outputs).all()
        ):
            raise TrainingDiverged(self._divergence_message("validation", float(outputs)))

    def _divergence_message(self, which: str, loss: float, epoch: int | None = None) -> str:
        trainer = self.trainer
        epoch = trainer.current_epoch if epoch is None else epoch
        # Manual lessons have no optimizer; Lightning then holds a stand-in with no parameter groups.
        groups = trainer.optimizers[0].param_groups if trainer.optimizers else []
        lr = groups[0]["lr"] if groups else getattr(self, "lr", None)
        checkpoint = trainer.checkpoint_callback
        last = checkpoint.last_model_path if checkpoint is not None else ""
        return (
            f"the {which} loss became {loss} at step {trainer.global_step} (epoch {epoch}); "
            "the run was stopped. The usual cause is a learning rate too large for this lesson"
            + (f" (lr={lr:g}: try a tenth of it)" if lr is not None else "")
            + "; otherwise look for inf or NaN in the data. "
            + (f"The last good checkpoint is {last}." if last else "No checkpoint had been saved yet.")
        )

    def should_log_step(self) -> bool:
        if self._logs is not None:  # decided by the running step (training_step)
            return self._logs
        trainer = self.trainer
        every = trainer.log_every_n_steps
        if not every:  # logging is off (log_every_n_steps=0, or a barebones Trainer)
            return False
        step = self.global_step  # the updates before this one
        last = trainer.is_last_batch and trainer.current_epoch + 1 >= trainer.max_epochs
        return last or (step + 1) % every == 0

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

    def evaluate(self, batch: tuple[Tensor, ...], stage: str) -> Tensor:
        """Loss on a validation or test batch, logged as `<stage>/loss`, then the lesson's metrics."""
        x, y = batch
        output = self(x)
        loss = self.loss_fn(output, y)
        self.mean_loss[stage].update(loss, weight=len(x))
        self.log(f"{stage}/loss", self.mean_loss[stage], prog_bar=stage == "val", batch_size=len(x))
        self.update_metrics(output, y, stage)
        return loss

    def update_metrics(self, output: Tensor, target: Tensor, stage: str) -> None:
        """Lessons with metrics beyond the loss update and log them here."""

    def validation_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        return self.evaluate(batch, "val")

    def test_step(self, batch: tuple[Tensor, ...], batch_idx: int) -> Tensor:
        return self.evaluate(batch, "test")

    @torch.no_grad()
    def predict(self, x: Tensor) -> Tensor:
        """The network's output in evaluation mode, restoring the mode it was in."""
        was_training = self.training
        self.eval()
        try:
            return self(x)
        finally:
            self.train(was_training)
