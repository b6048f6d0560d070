"""TensorBoard views of a regression lesson: the fit, and the parameters against their targets."""

import re

import lightning as L
import torch
from torch.utils.tensorboard import SummaryWriter

from lightning_lessons.callbacks.every_n_epochs import EveryNEpochs
from lightning_lessons.callbacks.layout import add_layout_charts
from lightning_lessons.callbacks.plots import fit_figure
from lightning_lessons.callbacks.tensorboard import tensorboard_writer
from lightning_lessons.nets import scalar_parameters


class FitFigure(EveryNEpochs):
    """The training data with the model's curve (the notes redraw it every 80 epochs)."""

    def __init__(self, every_n_epochs: int = 80, max_points: int = 1500) -> None:
        super().__init__(every_n_epochs)
        self.max_points = max_points

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, writer: SummaryWriter) -> None:
        x, y = trainer.datamodule.splits["train"]
        if len(x) > self.max_points:
            rows = torch.linspace(0, len(x) - 1, self.max_points).long()
            x, y = x[rows], y[rows]
        prediction = pl_module.predict(x.to(pl_module.device)).float().cpu()
        loss = trainer.callback_metrics.get("train/loss")
        title = f"step {trainer.global_step}" + (
            f": train loss {float(loss):.4g}" if loss is not None else ""
        )
        writer.add_figure("fit", fit_figure(x.cpu(), y.cpu(), prediction, title), trainer.global_step)


class ParameterTracker(EveryNEpochs):
    """Each learned weight and bias beside the value a perfect fit reaches, one chart per parameter
    (Custom Scalars tab), when the data module knows its `target_parameters`."""

    def __init__(self, every_n_epochs: int = 80) -> None:
        super().__init__(every_n_epochs)
        self.targets: dict[str, float] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        targets = getattr(trainer.datamodule, "target_parameters", None) or {}
        self.targets = targets if targets.keys() == scalar_parameters(pl_module.net).keys() else {}
        writer = tensorboard_writer(trainer)
        if self.targets and writer is not None:
            # Anchored and escaped: `weight[2]` is a tag, not a regular expression.
            charts = {
                name: [f"^{re.escape(f'params/{name}')}$", f"^{re.escape(f'params/{name}_target')}$"]
                for name in self.targets
            }
            add_layout_charts(writer, "parameters", charts)

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, writer: SummaryWriter) -> None:
        if not self.targets:
            return
        for name, value in scalar_parameters(pl_module.net).items():
            writer.add_scalar(f"params/{name}", value, trainer.global_step)
            writer.add_scalar(f"params/{name}_target", self.targets[name], trainer.global_step)
