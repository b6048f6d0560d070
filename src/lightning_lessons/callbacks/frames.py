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
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from lightning_lessons.callbacks.plots import figure_axes


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
        """The current frame, an `H x W x 3` uint8 image (IndexedFrames: `H x W` indices), for `add_png`."""
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

    def _title_rows(self, text: str) -> tuple[int, int]:
        """The rows `text` covers, centred on the title's baseline: only those pass through PIL."""
        _, top, _, bottom = self.font.getbbox(text, anchor="ms")
        y = self.title_at[1]
        return max(0, int(y + top) - 1), min(len(self.picture), int(y + bottom) + 2)

    def _write(self, image: np.ndarray, text: str) -> None:
        first, last = self._title_rows(text)
        x, y = self.title_at
        strip = Image.fromarray(image[first:last])
        ImageDraw.Draw(strip).text((x, y - first), text, font=self.font, fill=self.title_colour, anchor="ms")
        image[first:last] = np.asarray(strip)


class IndexedFrames(Frames):
    """Frames of at most 256 colours, one byte a pixel: the picture's own (the greys of its text and
    axes, mostly) and those `add_colours` reserves for what `paint` puts in. A third of the bytes of RGB
    to paint, copy and compress, and a PNG a third the size (C1's decision regions: ~0.6 ms a frame
    with its PNG instead of ~2). `render` returns indices into `palette`."""

    def __init__(self, figure: Figure, reserve: int) -> None:
        super().__init__(figure, [])
        pixels = self.picture.reshape(-1, 3).astype(np.uint32)
        for mask in (0xFF, 0xFC, 0xF8, 0xF0):  # antialiased text can hold more greys than fit: fewer bits
            packed = (pixels & mask) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
            values, indices = np.unique(packed, return_inverse=True)
            if len(values) + reserve <= 256:
                break
        else:
            raise ValueError(f"a figure of {len(values)} colours leaves no room for {reserve} more")
        colours = np.stack([values >> 16, (values >> 8) & 0xFF, values & 0xFF], axis=1)
        self.palette = colours.astype(np.uint8)
        self.picture = indices.reshape(self.picture.shape[:2]).astype(np.uint8)
        # Each level of the title's ink (0: full) as the nearest of the picture's colours, over white.
        ink = np.array(to_rgb(self.title_colour)) * 255
        levels = 255 + (ink - 255) * (1 - np.arange(256)[:, None] / 255)
        distances = ((levels[:, None, :] - colours[None, :, :]) ** 2).sum(axis=-1)
        self.ink_indices = distances.argmin(axis=1).astype(np.uint8)

    def add_colours(self, colours: np.ndarray) -> np.ndarray:
        """Palette entries for `colours` (`N x 3`, 0-255): their indices, to paint with."""
        first = len(self.palette)
        if first + len(colours) > 256:
            raise ValueError(f"{len(colours)} more colours do not fit in a palette of {first}")
        self.palette = np.concatenate([self.palette, np.rint(colours).astype(np.uint8)])
        return np.arange(first, first + len(colours), dtype=np.uint8)

    def _write(self, image: np.ndarray, text: str) -> None:
        first, last = self._title_rows(text)
        strip = Image.new("L", (image.shape[1], last - first), 255)
        x, y = self.title_at
        ImageDraw.Draw(strip).text((x, y - first), text, font=self.font, fill=0, anchor="ms")
        ink = np.asarray(strip)
        inked = ink < 255  # the title sits on the figure's white margin
        image[first:last][inked] = self.ink_indices[ink[inked]]


def _figure(figsize: tuple[float, float], margins: dict[str, float]) -> tuple[Figure, object]:
    figure, axes = figure_axes(figsize, margins)
    axes.set_title(" ", fontsize="medium")  # its font and place: Frames writes each frame's title there
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
    paints regions and points into the axes' palette indices in numpy (IndexedFrames: ~0.6 ms for C1's
    150 x 150 grid and 1,000 points with the PNG, where matplotlib's image and scatter draws took
    15-35 ms). `frame` returns indices into `palette`.
    """

    REGION_ALPHA, POINT_ALPHA, POINT_RADIUS = 0.25, 0.8, 1.6  # the radius in pixels
    CLASSES = 10  # colours of tab10; more classes wrap around, as matplotlib's colour cycle does

    def __init__(self, points: Tensor, grid: tuple[Tensor, Tensor]) -> None:
        xs, ys = (axis.numpy() for axis in grid)
        figure, axes = _figure((4.8, 4.2), {"left": 0.1, "right": 0.97, "bottom": 0.08, "top": 0.92})
        axes.set_xlim(xs[0], xs[-1])
        axes.set_ylim(ys[0], ys[-1])
        self.frames = IndexedFrames(figure, reserve=2 * self.CLASSES)
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
        colours = np.array(colormaps["tab10"].colors[: self.CLASSES]) * 255
        regions = 255 + (colours - 255) * self.REGION_ALPHA  # over the white axes
        self.region_indices = self.frames.add_colours(regions)
        # A point over its own class's region, where a prediction puts it (a mistake stands out anyway).
        self.point_indices = self.frames.add_colours(regions + (colours - regions) * self.POINT_ALPHA)
        centres = axes.transData.transform(points.numpy().astype(np.float64))
        centres[:, 1] = height - centres[:, 1]  # top down
        centres -= (self.columns.start, self.rows.start)
        self.spots, self.owners = self._discs(centres, (len(rows), len(columns)))

    def _discs(self, centres: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The pixels of each point's disc (those whose centre it covers): their indices in the flattened
        inside, and the point each belongs to."""
        reach = int(np.ceil(self.POINT_RADIUS))
        offsets = np.arange(-reach, reach + 1)
        step_y, step_x = (grid.ravel() for grid in np.meshgrid(offsets, offsets, indexing="ij"))
        rows = np.floor(centres[:, 1:]) + step_y  # points x the pixels around each
        columns = np.floor(centres[:, :1]) + step_x
        near = np.hypot(rows + 0.5 - centres[:, 1:], columns + 0.5 - centres[:, :1]) <= self.POINT_RADIUS
        inside = near & (rows >= 0) & (rows < shape[0]) & (columns >= 0) & (columns < shape[1])
        owners = np.broadcast_to(np.arange(len(centres))[:, None], rows.shape)[inside]
        return (rows[inside] * shape[1] + columns[inside]).astype(np.int64), owners

    @property
    def palette(self) -> np.ndarray:
        return self.frames.palette

    def frame(self, grid_classes: Tensor, predicted: Tensor, title: str) -> np.ndarray:
        """`grid_classes`: the class of each grid point, `len(ys) x len(xs)`; `predicted`: of each point."""

        def paint(image: np.ndarray) -> None:
            classes = grid_classes.numpy().ravel().take(self.cells)
            inside = self.region_indices.take(classes, mode="wrap")
            inside.ravel()[self.spots] = self.point_indices.take(predicted.numpy(), mode="wrap")[self.owners]
            image[self.rows, self.columns] = inside

        return self.frames.render(title, paint)


def _nearest(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The index of the nearest point of the evenly spaced `grid` to each value."""
    scale = (len(grid) - 1) / (grid[-1] - grid[0])
    return np.clip(np.rint((values - grid[0]) * scale), 0, len(grid) - 1).astype(np.int64)
