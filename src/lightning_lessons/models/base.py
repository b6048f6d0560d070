"""The LightningModule every lesson builds on: a plain `nn.Module` network, a loss, an optimizer,
and the validation and test metrics. Speed machinery and guards live beside it (`fast_steps.py`,
`guards.py`), so this reads as the lesson does."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torchmetrics import MeanMetric

from lightning_lessons.errors import ConfigError
from lightning_lessons.models.fast_steps import FastSteps
from lightning_lessons.models.guards import Guards

OptimizerFactory = Callable[[Iterable[nn.Parameter]], Optimizer]


class LessonModule(FastSteps, Guards):
    """Trains any plain `nn.Module` (`net`) with a loss module and an optimizer partial from the config.

    A lesson writes `loss_step` (the training loss of a batch, logged with `log_train`) and, for
    metrics beyond the loss, `update_metrics`.
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

    def forward(self, x: Tensor) -> Tensor:
        return self.net(self.memory_format(x))

    def memory_format(self, x: Tensor) -> Tensor:
        """Images in channels_last when asked: the CPU's convolutions then skip layout conversions
        (MNIST CNN: -15%)."""
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def configure_optimizers(self) -> Optimizer:
        if self.optimizer_factory is None:
            raise ConfigError("model.optimizer is not set: give an optimizer partial, e.g. torch.optim.SGD")
        return self.optimizer_factory(self.parameters())

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
