"""Matplotlib figures for TensorBoard, drawn without pyplot's global state."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor


class Frames:
    """A figure drawn in full once, then, frame after frame, only its changing artists over that picture.

    The figures a lesson redraws every few epochs (its fit, its decision regions; 20 a run and more)
    change only in the model's curve, colours and title: axes, ticks, labels, legend and data stay. A
    full matplotlib draw lays all of those out again (~45 ms here, R1's whole run of 10,000 updates is
    ~1.2 s); restoring the saved picture and drawing the few `changing` artists over it costs ~2 ms.
    The axes' limits are fixed at the first draw (by the data): what the model draws outside is clipped.
    """

    def __init__(self, figure: Figure, changing: list[Artist]) -> None:
        FigureCanvasAgg(figure)
        self.figure, self.changing = figure, changing
        for artist in changing:
            artist.set_animated(True)  # left out of the full draw, drawn per frame
        figure.canvas.draw()
        self.background = figure.canvas.copy_from_bbox(figure.bbox)

    def render(self) -> np.ndarray:
        """The current frame, an `H x W x 3` uint8 image (for `add_image(..., dataformats="HWC")`)."""
        canvas = self.figure.canvas
        canvas.restore_region(self.background)
        for artist in self.changing:
            self.figure.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


class FitPlot:
    """Data and fitted curve for one input feature; otherwise predicted against true targets. Built once
    for a training set, then `frame` per redraw."""

    def __init__(self, x: Tensor, y: Tensor) -> None:
        x, y = x.numpy(), y.numpy()
        figure = Figure(figsize=(5.0, 3.6), dpi=80)
        # Fixed margins: a layout engine doubles the cost of the first draw.
        figure.subplots_adjust(left=0.13, right=0.97, bottom=0.13, top=0.91)
        axes = figure.subplots()
        self.one_feature = x.shape[1] == 1 and y.shape[1] == 1
        if self.one_feature:
            self.order = x[:, 0].argsort()
            self.x = x[self.order, 0]
            axes.scatter(x[:, 0], y[:, 0], s=6, alpha=0.35, color="tab:blue", label="data")
            (self.model,) = axes.plot([], [], color="tab:red", linewidth=2, label="model")
            axes.set_xlabel("x")
            axes.set_ylabel("y")
        else:
            self.y = y.flatten()
            low, high = float(self.y.min()), float(self.y.max())
            axes.plot([low, high], [low, high], color="grey", linewidth=1, label="perfect fit")
            self.model = axes.scatter([], [], s=8, alpha=0.5, color="tab:red", label="model")
            axes.set_xlabel("target")
            axes.set_ylabel("prediction")
        axes.legend(loc="upper left", fontsize="small")
        axes.set_xlim(axes.get_xlim())  # the data's limits, fixed: the model's curve does not move them
        axes.set_ylim(axes.get_ylim())
        self.title = axes.set_title(" ", fontsize="medium")
        self.frames = Frames(figure, [self.model, self.title])

    def frame(self, prediction: Tensor, title: str) -> np.ndarray:
        prediction = prediction.numpy()
        if self.one_feature:
            self.model.set_data(self.x, prediction[self.order, 0])
        else:
            self.model.set_offsets(np.column_stack([self.y, prediction.flatten()]))
        self.title.set_text(title)
        return self.frames.render()


def _axes(figsize: tuple[float, float]) -> tuple[Figure, object]:
    figure = Figure(figsize=figsize, dpi=80)
    return figure, figure.subplots()


class DecisionPlot:
    """Decision regions of a 2-D classifier, with the points coloured by their predicted class. Built once
    for a grid and the points shown, then `frame` per redraw."""

    def __init__(self, points: Tensor, grid: tuple[Tensor, Tensor]) -> None:
        figure, axes = _axes((4.8, 4.2))
        figure.subplots_adjust(left=0.1, right=0.97, bottom=0.08, top=0.92)
        xs, ys = grid
        extent = (float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))
        colours = {"cmap": "tab10", "vmin": 0, "vmax": 9}
        empty = np.zeros((len(ys), len(xs)))
        self.regions = axes.imshow(
            empty,
            origin="lower",
            extent=extent,
            alpha=0.25,
            aspect="auto",
            interpolation="nearest",
            **colours,
        )
        self.points = axes.scatter(
            points[:, 0].numpy(), points[:, 1].numpy(), c=np.zeros(len(points)), s=6, alpha=0.8, **colours
        )
        self.title = axes.set_title(" ", fontsize="medium")
        self.frames = Frames(figure, [self.regions, self.points, self.title])

    def frame(self, grid_classes: Tensor, predicted: Tensor, title: str) -> np.ndarray:
        self.regions.set_data(grid_classes.numpy())
        self.points.set_array(predicted.numpy())
        self.title.set_text(title)
        return self.frames.render()


def prediction_grid_figure(images: Tensor, predicted: Tensor, target: Tensor, columns: int = 8) -> Figure:
    """Digits with their predicted label; mistakes framed in red with the true label beside."""
    rows = (len(images) + columns - 1) // columns
    figure, axes = _axes((columns * 0.9, rows * 1.0 + 0.3))
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.3 / (rows + 0.3))
    size = images.shape[-1] + 2
    canvas = torch.ones(rows * size, columns * size)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        canvas[row * size + 1 : (row + 1) * size - 1, column * size + 1 : (column + 1) * size - 1] = image
    axes.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    for index, (guess, truth) in enumerate(zip(predicted.tolist(), target.tolist(), strict=True)):
        row, column = divmod(index, columns)
        wrong = guess != truth
        axes.text(
            column * size + 2,
            row * size + 8,
            f"{guess}" + (f" ({truth})" if wrong else ""),
            color="red" if wrong else "green",
            fontsize=8,
            fontweight="bold",
        )
        if wrong:
            axes.add_patch(
                Rectangle(
                    (column * size - 0.5, row * size - 0.5),
                    size,
                    size,
                    fill=False,
                    edgecolor="red",
                    linewidth=2,
                )
            )
    axes.set_axis_off()
    axes.set_title("predicted digit; mistakes in red with the true digit in brackets", fontsize="small")
    return figure


def confusion_figure(matrix: Tensor, title: str) -> Figure:
    """Counts of true (rows) against predicted (columns) classes."""
    classes = len(matrix)
    figure, axes = _axes((5.0, 4.6))
    figure.subplots_adjust(left=0.12, right=0.98, bottom=0.1, top=0.93)
    axes.imshow(matrix, cmap="Blues")
    high = float(matrix.max()) / 2
    for row in range(classes):
        for column in range(classes):
            value = int(matrix[row, column])
            axes.text(
                column,
                row,
                str(value),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > high else "black",
            )
    axes.set_xticks(range(classes))
    axes.set_yticks(range(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize="medium")
    return figure


def image_rows_figure(rows: list[tuple[str, Tensor]], title: str) -> Figure:
    """Rows of grey `N x H x W` images in [0, 1], each row labelled on the left (e.g. noisy / denoised /
    clean), so the same image lines up in a column across rows."""
    count, height, width = rows[0][1].shape
    figure, axes = _axes((count * 0.6 + 1.3, len(rows) * 0.65 + 0.35))
    figure.subplots_adjust(left=1.2 / (count * 0.6 + 1.3), right=0.99, bottom=0.02, top=0.86)
    cell_height, cell_width = height + 2, width + 2
    canvas = torch.ones(len(rows) * cell_height, count * cell_width)
    for row, (_, images) in enumerate(rows):
        for column, image in enumerate(images):
            top, left = row * cell_height + 1, column * cell_width + 1
            canvas[top : top + height, left : left + width] = image
    axes.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes.set_yticks([row * cell_height + cell_height / 2 for row in range(len(rows))])
    axes.set_yticklabels([label for label, _ in rows], fontsize="small")
    axes.set_xticks([])
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    axes.set_title(title, fontsize="small")
    return figure
