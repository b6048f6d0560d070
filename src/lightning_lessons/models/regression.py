"""Regression with Lightning's automatic optimization (R2, R4, R5 variants 3 and 4)."""

from __future__ import annotations

from torch import Tensor

from lightning_lessons.models.base import LessonModule


class RegressionModule(LessonModule):
    """Any `nn.Module` regressor trained by the configured optimizer on the configured loss.

    R5's third variant updates `param -= lr * param.grad` by hand in the notes; that is exactly
    `torch.optim.SGD(lr)` without momentum, which is how its config expresses it.
    """

    def loss_step(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        x, y = batch
        loss = self.loss_fn(self(x), y)
        self.log_train(len(x), loss=loss)
        return loss
