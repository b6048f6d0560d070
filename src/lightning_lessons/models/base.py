"""The LightningModule every lesson builds on; each family of lessons adds its own `training_step`.
Two guards every run keeps: a loss that is not a number stops it; a checkpoint carries the random state."""

import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import lightning as L
import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler
from torchmetrics import MeanMetric

from lightning_lessons.errors import ConfigError, TrainingDiverged

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]
SchedulerFactory = Callable[[Optimizer], LRScheduler]
RNG_KEY = "rng_states"


class LessonModule(L.LightningModule):
    """Trains any plain `nn.Module` (`net`) with a loss module, an optimizer partial and, optionally, a
    learning-rate scheduler partial from the config (`model/scheduler=step|cosine|one_cycle`)."""

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
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        super().__init__()
        self.net = net.to(memory_format=torch.channels_last) if channels_last else net
        self.loss_fn = loss if loss is not None else nn.MSELoss()
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.channels_last = channels_last
        # The loss over a whole split, weighted by batch size: with several processes, torchmetrics
        # gathers every process's sums, so `val/loss` is the loss over the whole set, not a mean of means.
        self.mean_loss = nn.ModuleDict({stage: MeanMetric() for stage in ("val", "test")})

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.memory_format(x))

    def memory_format(self, x: Tensor) -> Tensor:
        """Images in channels_last when the network is (the CPU's convolutions: -15% on V1)."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    def logging_step(self) -> bool:
        """Whether the loggers write this training step: `self.log` costs more than a whole update of
        the small lessons, so their `training_step` calls it only then."""
        every = self.trainer.log_every_n_steps
        return self.trainer.is_last_batch or (every > 0 and (self.global_step + 1) % every == 0)

    # --- validation and test ---------------------------------------------------------------------

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
        """The network's output in evaluation mode, restoring the mode it was in (for figures)."""
        was_training = self.training
        self.eval()
        try:
            return self(x)
        finally:
            self.train(was_training)

    # --- optimizer ---------------------------------------------------------------------------------

    def configure_optimizers(self) -> Optimizer | dict[str, Any]:
        if self.optimizer_factory is None:
            raise ConfigError("model.optimizer is not set: give an optimizer partial, e.g. torch.optim.SGD")
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        # Lightning steps the scheduler after every epoch (its default interval).
        return {"optimizer": optimizer, "lr_scheduler": self.scheduler_factory(optimizer)}

    def learning_rate(self) -> float | None:
        optimizers = self.trainer.optimizers
        return optimizers[0].param_groups[0]["lr"] if optimizers else None

    # --- guards --------------------------------------------------------------------------------------

    def on_train_batch_end(self, outputs: Tensor | dict[str, Tensor], batch: object, batch_idx: int) -> None:
        # A NaN loss poisons every later step and checkpoint: stop at once.
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if isinstance(loss, Tensor) and not math.isfinite(loss.item()):  # .item(): 1 us, isfinite(): ~15
            raise TrainingDiverged(self.divergence_message("training", loss.item()))

    def on_validation_batch_end(self, outputs: Tensor, batch: object, batch_idx: int) -> None:
        # Checkpoints are saved after validation: weights whose validation loss is not finite are
        # stopped here, so the last checkpoint on disk is always a good one.
        if self.trainer.state.fn == "fit" and not torch.isfinite(outputs).all():
            raise TrainingDiverged(self.divergence_message("validation", float(outputs)))

    def divergence_message(self, which: str, loss: float) -> str:
        """What happened, the likely cause with the lr to try, and the last good checkpoint."""
        trainer, lr = self.trainer, self.learning_rate()
        # The newest checkpoint: the one a callback without a monitor keeps (last.ckpt).
        last = next((c.best_model_path for c in trainer.checkpoint_callbacks if c.monitor is None), "")
        return (
            f"the {which} loss became {loss} at step {trainer.global_step} (epoch {trainer.current_epoch}); "
            "the run was stopped. The usual cause is a learning rate too large for this lesson"
            + (f" (lr={lr:g}: try a tenth of it)" if lr is not None else "")
            + "; otherwise look for inf or NaN in the data. "
            + (f"The last good checkpoint is {last}." if last else "No checkpoint had been saved yet.")
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Dropout, D1/D2's training noise and other random layers draw from torch's generators: a resumed
        # run draws what the uninterrupted one would. (Tensors: the checkpoint loads with weights_only.)
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
        checkpoint[RNG_KEY] = {"torch": torch.get_rng_state(), "cuda": cuda}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        states = checkpoint.get(RNG_KEY)
        if states is None:
            return
        torch.set_rng_state(states["torch"])
        if states["cuda"] and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states["cuda"])
