"""Matplotlib figures for TensorBoard (`SummaryWriter.add_figure`), without pyplot's global state."""

import math

import torch
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, LogNorm
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
        label, colour = (f"{guess} ({truth})", "red") if wrong else (f"{guess}", "green")
        axes.text(column * size + 2, row * size + 8, label, color=colour, fontsize=8, fontweight="bold")
        if wrong:
            corner = (column * size - 0.5, row * size - 0.5)
            axes.add_patch(Rectangle(corner, size, size, fill=False, edgecolor="red", linewidth=2))
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
            colour = "white" if value > high else "black"
            axes.text(column, row, str(value), ha="center", va="center", fontsize=7, color=colour)
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


def fit_figure(x: Tensor, y: Tensor, prediction: Tensor, title: str) -> Figure:
    """Data and the model's curve for one input feature; otherwise predicted against true targets."""
    figure, axes = figure_axes((5.0, 3.6), {"left": 0.13, "right": 0.97, "bottom": 0.13, "top": 0.91})
    if x.shape[1] == 1 and y.shape[1] == 1:
        order = x[:, 0].argsort()
        axes.scatter(x[:, 0], y[:, 0], s=6, alpha=0.35, color="tab:blue", label="data")
        limits = axes.get_ylim()  # the data's: a wild model's curve does not squash them
        axes.plot(x[order, 0], prediction[order, 0], color="tab:red", linewidth=2, label="model")
        axes.set_ylim(limits)
        axes.set_xlabel("x")
        axes.set_ylabel("y")
    else:
        low, high = float(y.min()), float(y.max())
        axes.plot([low, high], [low, high], color="grey", linewidth=1, label="perfect fit")
        axes.scatter(y.flatten(), prediction.flatten(), s=8, alpha=0.5, color="tab:red", label="model")
        axes.set_xlabel("target")
        axes.set_ylabel("prediction")
    axes.legend(loc="upper left", fontsize="small")
    axes.set_title(title, fontsize="medium")
    return figure


def decision_figure(
    grid: tuple[Tensor, Tensor], grid_classes: Tensor, points: Tensor, predicted: Tensor, title: str
) -> Figure:
    """The plane coloured by predicted class (the decision regions), the points by their prediction."""
    classes = max(int(grid_classes.max()), int(predicted.max())) + 1
    figure, axes = figure_axes((5.0, 3.6), {"left": 0.1, "right": 0.97, "bottom": 0.1, "top": 0.91})
    colours = ListedColormap([colormaps["tab10"](k) for k in range(max(classes, 2))])
    axes.pcolormesh(*grid, grid_classes, cmap=colours, vmin=0, vmax=colours.N - 1, alpha=0.3, shading="auto")
    axes.scatter(points[:, 0], points[:, 1], c=predicted, cmap=colours, vmin=0, vmax=colours.N - 1, s=6)
    axes.set_title(title, fontsize="medium")
    return figure


def surface_figure(
    axes_values: tuple[Tensor, Tensor],
    loss: Tensor,
    paths: dict[str, Tensor],
    names: list[str],
    title: str,
    target: Tensor | None = None,
) -> Figure:
    """Contours of `loss` (one row per value of the second parameter) on log-spaced levels, so a long
    shallow valley shows beside a steep wall, and each path (N x 2) from its start (circle) to its end."""
    figure, axes = figure_axes((5.6, 4.2), {"left": 0.11, "right": 0.9, "bottom": 0.12, "top": 0.91})
    high = float(loss.max())
    levels = torch.logspace(math.log10(max(float(loss.min()), high * 1e-9)), math.log10(high), 25)
    filled = axes.contourf(*axes_values, loss, levels=levels.tolist(), norm=LogNorm(), cmap="viridis")
    axes.contour(*axes_values, loss, levels=levels[::3].tolist(), colors="white", linewidths=0.4)
    figure.colorbar(filled, ax=axes, label="training loss", format="%.3g")
    colours = ["tab:red", "tab:orange", "white"]
    for index, ((label, path), colour) in enumerate(zip(paths.items(), colours, strict=False)):
        on_top = {"color": colour, "zorder": 5 - index}  # the first path over the others where they meet
        axes.plot(path[:, 0], path[:, 1], linewidth=1.5, label=label, **on_top)
        axes.plot(*path[0].tolist(), "o", markersize=5, **on_top)
        axes.plot(*path[-1].tolist(), "o", markersize=5, markeredgecolor="black", **on_top)
    if target is not None:
        axes.plot(
            *target.tolist(),
            "*",
            color="gold",
            markersize=13,
            markeredgecolor="black",
            label="target",
            zorder=6,
        )
    axes.set_xlabel(names[0])
    axes.set_ylabel(names[1])
    axes.legend(loc="upper left", fontsize="small")
    axes.set_title(title, fontsize="medium")
    return figure
