"""The figures redrawn every few epochs (callbacks/frames.py) and their PNG encoding show what they say."""

import io

import numpy as np
import torch
from matplotlib import colormaps
from PIL import Image

from lightning_lessons.callbacks.frames import DecisionPlot, FitPlot
from lightning_lessons.callbacks.tensorboard import png

TAB10 = np.array(colormaps["tab10"].colors) * 255


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_png_decodes_to_the_same_pixels():
    generator = np.random.default_rng(0)
    noise = generator.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    assert np.array_equal(decode(png(noise)), noise)
    palette = generator.integers(0, 256, (200, 3), dtype=np.uint8)
    indices = generator.integers(0, 200, (37, 53), dtype=np.uint8)
    assert np.array_equal(decode(png(indices, palette)), palette[indices])
    flat = np.full((300, 400, 3), 255, dtype=np.uint8)
    assert len(png(flat)) < flat.size // 100  # a figure's flat colours compress


def pixel(plot: DecisionPlot, x: float, y: float) -> tuple[int, int]:
    """The frame's (row, column) of the data point (x, y)."""
    column, row = plot.frames.figure.axes[0].transData.transform((x, y))
    return int(plot.frames.figure.bbox.height - row), int(column)


def test_decision_regions_show_the_predicted_class_of_the_plane_and_of_each_point():
    xs = ys = torch.linspace(-5, 5, 101)
    points = torch.tensor([[-3.0, 2.0], [3.0, -2.0]])
    plot = DecisionPlot(points, (xs, ys))
    grid_x = xs.expand(len(ys), -1)
    right_is_one = (grid_x > 0).long()  # class 1 right of x = 0, class 0 left
    indices = plot.frame(right_is_one, torch.tensor([1, 0]), "epoch 7: training accuracy 50.0%")
    image = plot.palette[indices]
    assert indices.shape == image.shape[:2] and np.array_equal(decode(png(indices, plot.palette)), image)

    def colour(x, y):
        row, column = pixel(plot, x, y)
        return image[row, column].astype(float)

    pale = 255 + (TAB10 - 255) * DecisionPlot.REGION_ALPHA  # a region: its class's colour over white
    assert np.abs(colour(-4, -4) - pale[0]).max() <= 1 and np.abs(colour(4, 4) - pale[1]).max() <= 1
    # Each point in its predicted class's colour, over the other class's region.
    assert np.abs(colour(-3, 2) - TAB10[1]).max() < np.abs(colour(-3, 2) - pale[0]).max()
    assert np.abs(colour(3, -2) - TAB10[0]).max() < np.abs(colour(3, -2) - pale[1]).max()
    everything_left = plot.palette[
        plot.frame(torch.zeros_like(right_is_one), torch.tensor([1, 0]), "epoch 7: x")
    ]
    assert np.abs(everything_left[pixel(plot, 4, 4)].astype(float) - pale[0]).max() <= 1
    # The title is written above the axes, and only there do the two frames differ outside the axes.
    top_of_axes = pixel(plot, 0, 5)[0]
    differs = np.nonzero((image != everything_left).any(axis=(1, 2)))[0]
    title_rows = differs[differs < top_of_axes]
    assert len(title_rows) > 5 and (image[title_rows] < 100).any()


def test_fit_frames_draw_the_model_curve_and_title_over_the_data():
    x = torch.linspace(0, 1, 50)[:, None]
    plot = FitPlot(x, 2 * x)
    low = plot.frame(torch.full((50, 1), 0.5), "epoch 1, train loss 1")
    high = plot.frame(torch.full((50, 1), 1.5), "epoch 1, train loss 1")
    axes = plot.frames.figure.axes[0]
    height = plot.frames.figure.bbox.height

    def redness(image, y):
        row = int(height - axes.transData.transform((0.5, y))[1])
        band = image[row - 1 : row + 2].astype(int)
        return (band[..., 0] - band[..., 2]).max()  # tab:red has much more red than blue

    assert redness(low, 0.5) > 100 and redness(low, 1.5) < 50
    assert redness(high, 1.5) > 100 and redness(high, 0.5) < 50
    retitled = plot.frame(torch.full((50, 1), 1.5), "epoch 2, train loss 0.5")
    changed = np.nonzero((retitled != high).any(axis=(1, 2)))[0]
    assert len(changed) and changed.max() < axes.bbox.y1 and height - changed.max() > axes.bbox.y1
