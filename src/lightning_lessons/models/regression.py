"""Regression with Lightning's automatic optimization (R2, R4, R5.4): Lightning calls zero_grad,
backward and the optimizer's step around `training_step`."""

from torch import Tensor

from lightning_lessons.models.base import LessonModule


class RegressionModule(LessonModule):
    """Any `nn.Module` regressor trained by the configured optimizer on the configured loss."""

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss = self.loss_fn(self(x), y)
        if self.logging_step():
            self.log("train/loss", loss, prog_bar=True, batch_size=len(x))
        return loss
