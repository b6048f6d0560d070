"""Gradient descent written out by hand: Lightning's manual optimization with no optimizer object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from lightning_lessons.errors import ConfigError
from lightning_lessons.models.base import LessonModule


@dataclass(frozen=True)
class GradientDescent:
    """The hand-written update `w -= lr * w.grad` as the manual lessons' `model.optimizer`: the learning
    rate is `model.optimizer.lr` in every lesson."""

    lr: float


class ManualRegressionModule(LessonModule):
    """`w -= lr * w.grad` under `no_grad`, then zero the gradient: the update of R1, R3 and R5 (1, 2).

    `gradients="autograd"` gets `w.grad` from `loss.backward()`; `gradients="manual"` asks the network
    for its hand-written gradients (`TwoLayerNet.manual_gradients`), so no autograd graph is built.
    """

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
        self.automatic_optimization = False
        self.lr = optimizer.lr
        self.gradients = gradients
        if gradients == "manual":
            if not hasattr(net, "manual_gradients"):
                raise ConfigError(f"{type(net).__name__} has no hand-written gradients (manual_gradients)")
            if not (isinstance(self.loss_fn, nn.MSELoss) and self.loss_fn.reduction == "sum"):
                raise ConfigError(
                    "hand-written gradients are those of ((y_pred - y) ** 2).sum(): "
                    "set model.loss.reduction=sum"
                )

    def configure_optimizers(self) -> None:
        return None

    def hand_lr(self) -> float:
        return self.lr

    def compute_gradients(self, x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        if self.gradients == "manual":
            loss, grads = self.net.manual_gradients(x, y)
            if self.trainer.world_size > 1:  # as DDP does for autograd's gradients in backward
                reduce = self.trainer.strategy.reduce
                grads = {name: reduce(grad, reduce_op="mean") for name, grad in grads.items()}
            return loss, grads
        loss = self.loss_fn(self.forward(x), y)  # forward itself: nn.Module's call layer costs ~4 us (R1)
        self.backward_loss(loss)
        return loss.detach(), {name: p.grad for name, p in self.net.named_parameters()}

    def update(self, batch: tuple[Tensor, ...]) -> Tensor:
        x, y = batch
        loss, grads = self.compute_gradients(x, y)
        with torch.no_grad():
            for name, param in self.net.named_parameters():
                param -= self.lr * grads[name]
                if param.grad is not None:
                    param.grad.zero_()
        self.log_train(len(x), loss=loss)
        self.count_step()
        return loss
