"""End to end: issue #24's views as a person sees them in headless Chromium.

Short real runs of R1 and V1 (tiny MNIST files) and a learning-rate search of R4 in one log directory;
then the Images dashboard must show R1's loss surface, the Histograms dashboard V1's weights and
gradients, and the lr finder's curve must be drawn (its image and its `lr_find/loss` chart).
Screenshots go to `test-artifacts/e2e/`. Run with `make test-e2e`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from conftest import MNIST_SMALL, screenshot, tool
from dashboards import show_tags

pytestmark = pytest.mark.e2e

PAGE = {"width": 1400, "height": 1400}
RUNS = {
    "linear_regression_scratch": ["epochs=400"],
    "mnist_cnn": [*MNIST_SMALL, "trainer.max_epochs=2"],
}
IMAGES = "img[src*='individualImage']"


@pytest.fixture(scope="module")
def logdir(logdir: Path) -> Path:
    """The conftest's runs, and beside them a learning-rate search of R4, run as `make lr-find` runs it."""
    found = tool("lr_find", "lesson=nonlinear_regression", f"paths.log_dir={logdir}")
    assert found.returncode == 0, found.stderr[-2000:]
    return logdir


def shown_images(page) -> dict[tuple[str, str], int]:
    """(run, tag) of each image on the page, with its drawn width (0: not loaded)."""
    shown = {}
    for src, width in page.locator(IMAGES).evaluate_all("images => images.map(i => [i.src, i.naturalWidth])"):
        key = src.split("blob_key=")[1].split("&")[0]
        _, run, tag, *_ = json.loads(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))
        shown[(run, tag)] = max(width, shown.get((run, tag), 0))
    return shown


def test_images_dashboard_shows_r1s_loss_surface(page, tensorboard):
    show_tags(page, tensorboard, "images", IMAGES, "^loss_surface$")
    screenshot(page, "loss_surface")
    assert shown_images(page).get(("linear_regression_scratch", "loss_surface"), 0) > 300


def test_histograms_dashboard_draws_v1s_weights_and_gradients(page, tensorboard):
    show_tags(page, tensorboard, "histograms", "tf-histogram-loader", "features.0.weight$")
    screenshot(page, "histograms")
    cards = page.locator("tf-histogram-loader")
    tags = {cards.nth(i).evaluate("card => card.tag") for i in range(cards.count())}
    assert {"weights/net.features.0.weight", "gradients/net.features.0.weight"} <= tags, tags
    # Each card draws one filled shape per validation (2 epochs): the histograms over time.
    for i in range(cards.count()):
        drawn = (
            cards.nth(i)
            .locator("path")
            .evaluate_all("ps => ps.filter(p => (p.getAttribute('d') || '').length > 50).length")
        )
        assert drawn >= 2, (tags, drawn)


def test_the_lr_finders_curve_is_drawn(page, tensorboard):
    show_tags(page, tensorboard, "images", IMAGES, "^lr_find$")
    screenshot(page, "lr_find")
    runs = [run for (run, tag), width in shown_images(page).items() if tag == "lr_find" and width > 300]
    assert len(runs) == 1 and runs[0].startswith("nonlinear_regression/lr_find_"), runs
    show_tags(page, tensorboard, "scalars", "tf-scalar-card path.line", "^lr_find/loss$")
    card = page.locator("tf-scalar-card").first
    assert card.evaluate("card => card.tag") == "lr_find/loss"
    lengths = card.locator("path.line").evaluate_all("ls => ls.map(l => (l.getAttribute('d') || '').length)")
    assert max(lengths, default=0) > 100, lengths
