"""TensorBoard views of classification lessons: decision regions, digit grids, confusion matrices."""

import lightning as L
import torch
from torch.utils.tensorboard import SummaryWriter

from lightning_lessons.callbacks.every_n_epochs import EveryNEpochs
from lightning_lessons.callbacks.plots import confusion_figure, decision_figure, prediction_grid_figure
from lightning_lessons.callbacks.tensorboard import tensorboard_writer


def predicted_classes(pl_module: L.LightningModule, x: torch.Tensor) -> torch.Tensor:
    return pl_module.predict(x.to(pl_module.device)).argmax(dim=1).cpu()


class DecisionRegions(EveryNEpochs):
    """The plane coloured by predicted class, the training points by their prediction, the accuracy in
    the title (the notes redraw this every 40 epochs)."""

    def __init__(self, every_n_epochs: int = 40, resolution: int = 150, max_points: int = 1500) -> None:
        super().__init__(every_n_epochs)
        self.resolution = resolution
        self.max_points = max_points

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, writer: SummaryWriter) -> None:
        x, y = trainer.datamodule.splits["train"]
        low, high = x.min(dim=0).values - 1, x.max(dim=0).values + 1
        xs = torch.linspace(float(low[0]), float(high[0]), self.resolution)
        ys = torch.linspace(float(low[1]), float(high[1]), self.resolution)
        mesh = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
        grid = predicted_classes(pl_module, mesh).reshape(self.resolution, self.resolution)
        predicted = predicted_classes(pl_module, x)
        accuracy = (predicted == y.cpu()).float().mean().item()
        shown = torch.linspace(0, len(x) - 1, min(len(x), self.max_points)).long()
        title = f"step {trainer.global_step}: training accuracy {accuracy:.1%}"
        figure = decision_figure((xs, ys), grid, x[shown].cpu(), predicted[shown], title)
        writer.add_figure("decision_regions", figure, trainer.global_step)


class PredictionFigures(L.Callback):
    """After each validation and after testing: digits with predicted and true labels
    (`predictions/<split>`) and the module's confusion matrix if it keeps one (`confusion_matrix/<split>`).

    Up to a quarter of the grid shows mistakes from the first `search` images: something to learn from
    even at 99% accuracy.
    """

    def __init__(self, num_images: int = 32, search: int = 1000) -> None:
        super().__init__()
        self.num_images = num_images
        self.search = search

    def _examples(self, pl_module: L.LightningModule, images: torch.Tensor, target: torch.Tensor):
        chunks = images[: self.search].split(500)
        predicted = torch.cat([predicted_classes(pl_module, chunk) for chunk in chunks])
        target = target[: self.search]
        shown = min(self.num_images, len(target))
        wrong = torch.nonzero(predicted != target).flatten()[: shown // 4]
        rows = torch.cat([torch.arange(shown - len(wrong)), wrong]).unique()  # sorted, no repeats
        return images[rows], predicted[rows], target[rows]

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        if trainer.sanity_checking:
            return
        confusion = getattr(pl_module, "confusion", None)
        # On every process: with several, compute() gathers all of them, so none may skip it.
        matrix = confusion[split].compute().cpu() if confusion is not None else None
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        datamodule = trainer.datamodule
        images, predicted, target = self._examples(pl_module, *datamodule.splits[split])
        shown = (images[:, 0] * datamodule.std + datamodule.mean).clamp(0, 1)
        step = trainer.global_step
        writer.add_figure(f"predictions/{split}", prediction_grid_figure(shown, predicted, target), step)
        if matrix is not None:
            accuracy = matrix.diag().sum() / matrix.sum()
            title = f"{split}: accuracy {accuracy:.2%} over {int(matrix.sum())} images"
            writer.add_figure(f"confusion_matrix/{split}", confusion_figure(matrix, title), step)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._draw(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._draw(trainer, pl_module, "test")
