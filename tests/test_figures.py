"""The figures redrawn every few epochs (FitFigure, DecisionRegions) in a real fit: what lands in the
event file, at which steps, and that the pictures show the data and the model."""

from __future__ import annotations

import io

import lightning as L
import numpy as np
import pytest
import torch
from conftest import events
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib import colormaps
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.tensorboard import SummaryWriter

from lightning_lessons.callbacks import DecisionRegions, FitFigure

TAB10 = np.array(colormaps["tab10"].colors) * 255


class Splits(L.LightningDataModule):
    """The callbacks' view of a lesson's data: `splits["train"]`, trained on full batch."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        super().__init__()
        self.splits = {"train": (x, y)}

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(*self.splits["train"]), batch_size=len(self.splits["train"][0]))


class Tiny(L.LightningModule):
    def __init__(self, net: nn.Module, loss) -> None:
        super().__init__()
        self.net, self.loss = net, loss

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch, batch_idx):
        loss = self.loss(self.net(batch[0]), batch[1])
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.05)


@pytest.fixture
def titles(monkeypatch) -> list[tuple[str, int, str]]:
    """(tag, step, title) of each figure as add_figure gets it, before it renders and closes it."""
    seen: list[tuple[str, int, str]] = []
    add_figure = SummaryWriter.add_figure

    def spy(writer, tag, figure, global_step=None, *args, **kwargs):
        seen.append((tag, global_step, figure.axes[0].get_title()))
        return add_figure(writer, tag, figure, global_step, *args, **kwargs)

    monkeypatch.setattr(SummaryWriter, "add_figure", spy)
    return seen


def fit(run_dir, module: L.LightningModule, data: Splits, callback: L.Callback, epochs: int):
    torch.manual_seed(0)
    logger = TensorBoardLogger(run_dir, name="", version="", default_hp_metric=False)
    trainer = L.Trainer(
        max_epochs=epochs,
        logger=logger,
        callbacks=[callback],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=data)
    return events(run_dir)


def decode(event) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(event.encoded_image_string)).convert("RGB")).astype(float)


def share_near(image: np.ndarray, colour: np.ndarray, tolerance: float = 6) -> float:
    """The share of the picture's pixels within `tolerance` of `colour` in every channel."""
    return float((np.abs(image - colour).max(axis=-1) <= tolerance).mean())


@pytest.mark.parametrize("epochs, steps", [(22, [5, 10, 15, 20, 22]), (20, [5, 10, 15, 20])])
def test_fit_figure_every_n_epochs_and_once_at_the_end(tmp_path, titles, epochs, steps):
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 1000)[:, None]
    y = x**3 + 0.05 * torch.randn_like(x)
    net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
    callback = FitFigure(every_n_epochs=5, max_points=300)
    figures = fit(tmp_path, Tiny(net, nn.functional.mse_loss), Splits(x, y), callback, epochs).Images("fit")
    assert [event.step for event in figures] == steps  # the end's draw only where no epoch drew that step
    assert [(tag, step) for tag, step, _ in titles] == [("fit", step) for step in steps]
    assert all(title.startswith(f"step {step}: train loss ") for _, step, title in titles), titles
    for event in figures:
        image = decode(event)
        assert image.shape[:2] == (event.height, event.width) and image.shape[1] > 300
        assert share_near(image, np.array([255.0, 255, 255])) < 0.95  # not a blank page
        assert share_near(image, TAB10[3], tolerance=30) > 0.002  # the model's curve, tab:red
        assert share_near(image, 255 + (TAB10[0] - 255) * 0.35, tolerance=30) > 0.001  # the data, tab:blue


def test_fit_figure_of_several_features_plots_predictions_against_targets(tmp_path, titles):
    torch.manual_seed(0)
    x = torch.randn(200, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    callback = FitFigure(every_n_epochs=3)
    figures = fit(tmp_path, Tiny(nn.Linear(3, 1), nn.functional.mse_loss), Splits(x, y), callback, 6)
    assert [event.step for event in figures.Images("fit")] == [3, 6]
    assert share_near(decode(figures.Images("fit")[-1]), TAB10[3], tolerance=60) > 0.002


def test_decision_regions_colour_the_plane_and_points_by_predicted_class(tmp_path, titles):
    torch.manual_seed(0)
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    labels = torch.arange(1000) % 3
    x = centres[labels] + torch.randn(1000, 2)
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    callback = DecisionRegions(every_n_epochs=4, resolution=150, max_points=500)
    run = fit(tmp_path, Tiny(net, nn.functional.cross_entropy), Splits(x, labels), callback, 10)
    figures = run.Images("decision_regions")
    assert [event.step for event in figures] == [4, 8, 10]
    assert [step for _, step, _ in titles] == [4, 8, 10]
    _, _, last_title = titles[-1]
    accuracy = float(last_title.removeprefix("step 10: training accuracy ").removesuffix("%"))
    assert last_title.startswith("step 10: training accuracy ") and 80 < accuracy <= 100, last_title
    image = decode(figures[-1])
    for colour in TAB10[:3]:  # three classes learned: each owns a region, pale, and its points
        assert share_near(image, 255 + (colour - 255) * 0.3) > 0.05
        assert share_near(image, colour, tolerance=60) > 0.001
    assert share_near(image, 255 + (TAB10[3] - 255) * 0.3) < 0.001  # no fourth class


def test_no_tensorboard_logger_no_figures(tmp_path, titles):
    x = torch.linspace(-1, 1, 50)[:, None]
    trainer = L.Trainer(
        max_epochs=4,
        logger=False,
        callbacks=[FitFigure(every_n_epochs=2)],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(Tiny(nn.Linear(1, 1), nn.functional.mse_loss), datamodule=Splits(x, x))
    assert titles == []
