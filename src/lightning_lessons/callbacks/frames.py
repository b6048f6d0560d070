"""Figures a lesson redraws every few epochs (its fit, its decision regions: 20 a run and more), laid out
once by matplotlib and then painted frame after frame over that picture.

R1's whole run of 10,000 updates is ~1.2 s and C1's ~0.35 s: a full matplotlib draw (~45 ms) 20 times,
or even matplotlib's text layout of a new title (~3 ms) and its image and scatter draws of C1's regions
(~15-35 ms), would cost more than the training they show.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib import colormaps, font_manager
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

DPI = 80


class Frames:
    """A figure drawn in full once, then, frame after frame, only what changes over that picture: the
    `changing` artists (matplotlib), whatever `paint` puts into the pixels, and the axes' title.

    The title is written by PIL in the font and size and at the place matplotlib would use (~0.15 ms;
    matplotlib lays out a new string in ~3 ms). The axes keep the limits of the first draw (the data's):
    what the model draws outside them is clipped.
    """

    def __init__(self, figure: Figure, changing: list[Artist]) -> None:
        FigureCanvasAgg(figure)
        self.figure, self.changing = figure, changing
        for artist in changing:
            artist.set_animated(True)  # left out of the full draw, drawn per frame
        title = figure.axes[0].title
        path = font_manager.findfont(title.get_fontproperties())
        self.font = ImageFont.truetype(path, title.get_fontsize() * figure.dpi / 72)
        x, y = title.get_transform().transform(title.get_position())  # centre of its baseline
        self.title_at = (float(x), float(figure.bbox.height - y))
        self.title_colour = to_hex(title.get_color())
        title.set_text("")
        figure.canvas.draw()
        self.background = figure.canvas.copy_from_bbox(figure.bbox)
        self.picture = self._pixels()

    def render(self, title: str, paint: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
        """The current frame, an `H x W x 3` uint8 image (for `add_png`)."""
        if self.changing:
            self.figure.canvas.restore_region(self.background)
            for artist in self.changing:
                self.figure.draw_artist(artist)
            image = self._pixels()
        else:
            image = self.picture.copy()
        if paint is not None:
            paint(image)
        self._write(image, title)
        return image

    def _pixels(self) -> np.ndarray:
        return np.asarray(self.figure.canvas.buffer_rgba())[..., :3].copy()

    def _write(self, image: np.ndarray, text: str) -> None:
        """`text` centred on the title's baseline; only the rows it covers pass through PIL."""
        x, y = self.title_at
        _, top, _, bottom = self.font.getbbox(text, anchor="ms")
        first, last = max(0, int(y + top) - 1), min(len(image), int(y + bottom) + 2)
        strip = Image.fromarray(image[first:last])
        ImageDraw.Draw(strip).text((x, y - first), text, font=self.font, fill=self.title_colour, anchor="ms")
        image[first:last] = np.asarray(strip)


def _figure(figsize: tuple[float, float], margins: dict[str, float]) -> tuple[Figure, object]:
    figure = Figure(figsize=figsize, dpi=DPI)
    figure.subplots_adjust(**margins)  # fixed: a layout engine doubles the cost of the first draw
    axes = figure.subplots()
    axes.set_title(" ", fontsize="medium")
    return figure, axes


class FitPlot:
    """Data and fitted curve for one input feature; otherwise predicted against true targets. Built once
    for a training set, then `frame` per redraw."""

    def __init__(self, x: Tensor, y: Tensor) -> None:
        x, y = x.numpy(), y.numpy()
        figure, axes = _figure((5.0, 3.6), {"left": 0.13, "right": 0.97, "bottom": 0.13, "top": 0.91})
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
        self.frames = Frames(figure, [self.model])

    def frame(self, prediction: Tensor, title: str) -> np.ndarray:
        prediction = prediction.numpy()
        if self.one_feature:
            self.model.set_data(self.x, prediction[self.order, 0])
        else:
            self.model.set_offsets(np.column_stack([self.y, prediction.flatten()]))
        return self.frames.render(title)


class DecisionPlot:
    """The plane coloured by predicted class (a 2-D classifier's decision regions), with the points
    coloured by their predicted class on top. Built once for a grid and the points shown; each `frame`
    paints regions and points into the axes' pixels in numpy (~0.8 ms for C1's 150 x 150 grid and
    1,000 points, where matplotlib's image and scatter draws took 15-35 ms).
    """

    REGION_ALPHA, POINT_ALPHA, POINT_RADIUS = 0.25, 0.8, 1.6  # the radius in pixels

    def __init__(self, points: Tensor, grid: tuple[Tensor, Tensor]) -> None:
        xs, ys = (axis.numpy() for axis in grid)
        figure, axes = _figure((4.8, 4.2), {"left": 0.1, "right": 0.97, "bottom": 0.08, "top": 0.92})
        axes.set_xlim(xs[0], xs[-1])
        axes.set_ylim(ys[0], ys[-1])
        self.frames = Frames(figure, [])
        # The axes' inside in the picture's rows (top down) and columns, the spines' pixels left alone.
        height = figure.bbox.height
        left, bottom, right, top = axes.bbox.extents
        self.rows = slice(int(height - top) + 2, int(height - bottom) - 1)
        self.columns = slice(int(left) + 2, int(right) - 1)
        rows = np.arange(self.rows.start, self.rows.stop)
        columns = np.arange(self.columns.start, self.columns.stop)
        to_data = axes.transData.inverted()
        data_x = to_data.transform(np.column_stack([columns + 0.5, np.zeros(len(columns))]))[:, 0]
        data_y = to_data.transform(np.column_stack([np.zeros(len(rows)), height - rows - 0.5]))[:, 1]
        # Each pixel's nearest grid point, as an index into the flattened grid of classes.
        self.cells = _nearest(data_y, ys)[:, None] * len(xs) + _nearest(data_x, xs)[None, :]
        colours = np.array(colormaps["tab10"].colors) * 255
        self.region_colours = np.rint(255 + (colours - 255) * self.REGION_ALPHA).astype(np.uint8)
        self.point_colours = np.rint(colours).astype(np.int16)
        pixels = axes.transData.transform(points.numpy().astype(np.float64))
        pixels[:, 1] = height - pixels[:, 1]  # top down
        pixels -= (self.columns.start, self.rows.start)
        self.spots, self.owners, self.weights = self._footprints(pixels, (len(rows), len(columns)))

    def _footprints(
        self, centres: np.ndarray, shape: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each pixel a point's disc touches: its index in the flattened inside, the point, and the
        point's opacity there (its alpha times the share of the pixel the disc covers, 4 x 4 samples)."""
        reach = int(np.ceil(self.POINT_RADIUS))  # from the pixel holding the centre
        offsets = np.arange(-reach, reach + 1)
        step_y, step_x = (grid.ravel() for grid in np.meshgrid(offsets, offsets, indexing="ij"))
        rows = np.floor(centres[:, 1:]) + step_y  # points x pixels around each
        columns = np.floor(centres[:, :1]) + step_x
        samples = (np.arange(4) + 0.5) / 4
        sample_y, sample_x = (grid.ravel() for grid in np.meshgrid(samples, samples, indexing="ij"))
        dy = rows[..., None] + sample_y - centres[:, 1, None, None]  # points x pixels x samples
        dx = columns[..., None] + sample_x - centres[:, 0, None, None]
        cover = (dx**2 + dy**2 <= self.POINT_RADIUS**2).mean(axis=-1)
        inside = (cover > 0) & (rows >= 0) & (rows < shape[0]) & (columns >= 0) & (columns < shape[1])
        owners = np.broadcast_to(np.arange(len(centres))[:, None], rows.shape)[inside]
        spots = (rows[inside] * shape[1] + columns[inside]).astype(np.int64)
        weights = np.rint(128 * self.POINT_ALPHA * cover[inside]).astype(np.int16)[:, None]  # of 128
        return spots, owners, weights

    def frame(self, grid_classes: Tensor, predicted: Tensor, title: str) -> np.ndarray:
        """`grid_classes`: the class of each grid point, `len(ys) x len(xs)`; `predicted`: of each point."""

        def paint(image: np.ndarray) -> None:
            # Classes beyond tab10's ten colours wrap around, as matplotlib's colour cycle does.
            classes = grid_classes.numpy().ravel().take(self.cells)
            regions = self.region_colours.take(classes, axis=0, mode="wrap")
            pixels = regions.reshape(-1, 3)
            under = pixels[self.spots].astype(np.int16)
            colour = self.point_colours.take(predicted.numpy(), axis=0, mode="wrap").take(self.owners, axis=0)
            pixels[self.spots] = under + ((colour - under) * self.weights >> 7)
            image[self.rows, self.columns] = regions

        return self.frames.render(title, paint)


def _nearest(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The index of the nearest point of the evenly spaced `grid` to each value."""
    scale = (len(grid) - 1) / (grid[-1] - grid[0])
    return np.clip(np.rint((values - grid[0]) * scale), 0, len(grid) - 1).astype(np.int64)
