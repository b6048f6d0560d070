"""Gradient descent written out by hand (R1, R3, R5.1, R5.2, R5.3): Lightning's manual optimization."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from lightning_lessons.errors import ConfigError
from lightning_lessons.models.base import LessonModule


@dataclass(frozen=True)
class GradientDescent:
    """The hand-written update `w -= lr * w.grad` as the manual lessons' `model.optimizer`: the learning
    rate is `model.optimizer.lr` in every lesson."""

    lr: float


class StepCounter(Optimizer):
    """An optimizer that changes nothing: Lightning counts a step (`global_step`) when an optimizer
    steps, and the notes' update is written by hand in `training_step`."""

    def __init__(self, params: Iterable[nn.Parameter]) -> None:
        super().__init__(params, {})

    def step(self, closure: None = None) -> None:
        return None


class ManualRegressionModule(LessonModule):
    """The notes' loop over the parameters: `w -= lr * w.grad` under `no_grad`, then zero the gradient.

    `gradients="manual"` (R5.1) takes the network's hand-written gradients instead of `loss.backward()`,
    so no autograd graph is built at all."""

    def __init__(
        self,
        net: nn.Module,
        optimizer: GradientDescent,
        loss: nn.Module | None = None,
        gradients: Literal["autograd", "manual"] = "autograd",
    ) -> None:
        super().__init__(net, loss)
        if not isinstance(optimizer, GradientDescent):
            raise ConfigError(
                "this lesson updates its weights by hand (w -= lr * grad): it takes no torch optimizer; "
                "set its learning rate with model.optimizer.lr=<value>"
            )
        summed = isinstance(self.loss_fn, nn.MSELoss) and self.loss_fn.reduction == "sum"
        if gradients == "manual" and not hasattr(net, "manual_gradients"):
            raise ConfigError(f"{type(net).__name__} has no hand-written gradients (manual_gradients)")
        if gradients == "manual" and not summed:
            raise ConfigError(
                "hand-written gradients are those of ((y_pred - y) ** 2).sum(): set model.loss.reduction=sum"
            )
        self.automatic_optimization = False
        self.lr = optimizer.lr
        self.gradients = gradients

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        if self.gradients == "manual":
            loss, grads = self.net.manual_gradients(x, y)
            for name, param in self.net.named_parameters():
                # With several processes, average as DDP averages autograd's gradients in backward.
                param.grad = self.trainer.strategy.reduce(grads[name], reduce_op="mean")
        else:
            loss = self.loss_fn(self(x), y)
            self.manual_backward(loss)
        with torch.no_grad():
            for param in self.net.parameters():
                param -= self.lr * param.grad
                param.grad.zero_()
        self.optimizers().step()  # the StepCounter: Lightning counts this step
        if self.logging_step():
            self.log("train/loss", loss, prog_bar=True, batch_size=len(x))
        return loss.detach()

    def configure_optimizers(self) -> Optimizer:
        return StepCounter(self.parameters())

    def learning_rate(self) -> float:
        return self.lr
