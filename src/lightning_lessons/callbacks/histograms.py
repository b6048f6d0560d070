"""TensorBoard's Histograms and Distributions tabs: every weight and gradient of the lesson's networks."""

import lightning as L
import torch
from torch import Tensor
from torch.optim import Optimizer

from lightning_lessons.callbacks.tensorboard import tensorboard_writer


class ParameterHistograms(L.Callback):
    """After each validation, `weights/<name>` and `gradients/<name>` for every parameter (T1: both of
    its networks), through `add_histogram`. The gradients are those of the epoch's last step, kept
    before the optimizer steps: Lightning clears them before validation.

    A tensor of more than `max_values` numbers (V1's `Linear(25088, 1024)`: 25.7 million) is drawn from
    `max_values` of them, the same randomly chosen positions at every validation: its histogram keeps
    its shape and costs a hundredth, which keeps the callback under 2% of T1's short epochs (None: all).
    """

    def __init__(self, max_values: int | None = 250_000) -> None:
        super().__init__()
        self.max_values = max_values
        self.positions: dict[str, Tensor] = {}
        self.gradients: dict[str, Tensor] = {}

    def sample(self, name: str, values: Tensor) -> Tensor:
        values = values.detach().reshape(-1)
        if self.max_values is None or len(values) <= self.max_values:
            return values
        if name not in self.positions:
            generator = torch.Generator().manual_seed(len(values))
            positions = torch.randint(len(values), (self.max_values,), generator=generator)
            self.positions[name] = positions.to(values.device)
        return values[self.positions[name]]

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Optimizer
    ) -> None:
        if trainer.is_last_batch and tensorboard_writer(trainer) is not None:
            self.gradients = {
                name: self.sample(name, param.grad).clone()
                for name, param in pl_module.named_parameters()
                if param.grad is not None
            }

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None or trainer.sanity_checking:
            return
        for name, param in pl_module.named_parameters():
            writer.add_histogram(f"weights/{name}", self.sample(name, param), trainer.global_step)
        for name, gradient in self.gradients.items():
            writer.add_histogram(f"gradients/{name}", gradient, trainer.global_step)
