"""Matplotlib figures for TensorBoard drawn once each (the figures redrawn every few epochs are in
`frames.py`), without pyplot's global state."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

DPI = 80


def figure_axes(figsize: tuple[float, float], margins: dict[str, float]) -> tuple[Figure, object]:
    """A figure of one axes at the lessons' resolution, with fixed margins (a layout engine doubles the
    cost of the first draw)."""
    figure = Figure(figsize=figsize, dpi=DPI)
    figure.subplots_adjust(**margins)
    return figure, figure.subplots()


def prediction_grid_figure(images: Tensor, predicted: Tensor, target: Tensor, columns: int = 8) -> Figure:
    """Digits with their predicted label; mistakes framed in red with the true label beside."""
    rows = (len(images) + columns - 1) // columns
    figure, axes = figure_axes(
        (columns * 0.9, rows * 1.0 + 0.3),
        {"left": 0.01, "right": 0.99, "bottom": 0.01, "top": 1 - 0.3 / (rows + 0.3)},
    )
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
    figure, axes = figure_axes((5.0, 4.6), {"left": 0.12, "right": 0.98, "bottom": 0.1, "top": 0.93})
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
    figure, axes = figure_axes(
        (count * 0.6 + 1.3, len(rows) * 0.65 + 0.35),
        {"left": 1.2 / (count * 0.6 + 1.3), "right": 0.99, "bottom": 0.02, "top": 0.86},
    )
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
