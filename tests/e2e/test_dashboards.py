"""End to end: TensorBoard serves the runs this project writes, and a real browser renders them.

Starts TensorBoard on a free port of 127.0.0.1 over runs made here, checks its HTTP API, then opens
the scalars, images and hparams dashboards in headless Chromium (Debian's `chromium`, driven by
Playwright) and asserts that chart lines, the lessons' images and the final metrics are drawn.
Screenshots go to `test-artifacts/e2e/`. Run with `make test-e2e`.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from conftest import MNIST_SMALL, screenshot
from dashboards import get_json, show_tags

pytestmark = pytest.mark.e2e


# What each lesson must show in TensorBoard's Images dashboard.
IMAGES = {
    "linear_regression": ["fit"],
    "logistic_regression": ["decision_regions"],
    "mnist_cnn": ["predictions/val", "predictions/test", "confusion_matrix/test"],
}
RUNS = {
    "linear_regression": [
        "data.n_samples=2000",
        "data.n_val=200",
        "data.n_test=200",
        "epochs=60",
    ],
    "logistic_regression": ["epochs=60"],
    "mnist_cnn": [*MNIST_SMALL, "trainer.max_epochs=2"],
}


def test_http_api_lists_each_runs_scalars_and_images(tensorboard):
    scalars = get_json(tensorboard, "/data/plugin/scalars/tags")
    images = get_json(tensorboard, "/data/plugin/images/tags")
    for lesson, tags in IMAGES.items():
        assert {"train/loss", "val/loss", "test/loss"} <= set(scalars[lesson]), lesson
        assert set(tags) <= set(images.get(lesson, {})), lesson


def test_scalars_dashboard_draws_chart_lines(page, tensorboard):
    show_tags(page, tensorboard, "scalars", "tf-scalar-card path.line", "^(train|val)/(loss|acc)$")
    screenshot(page, "scalars")
    drawn: dict[str, int] = {}
    cards = page.locator("tf-scalar-card")
    for index in range(cards.count()):
        card = cards.nth(index)
        tag = card.evaluate("card => card.tag")
        lengths = card.locator("path.line").evaluate_all(
            "lines => lines.map(l => (l.getAttribute('d') || '').length)"
        )
        drawn[tag] = max(lengths, default=0)
    for tag in ("train/loss", "val/loss", "train/acc", "val/acc"):
        assert drawn.get(tag, 0) > 100, f"no line drawn for {tag}: {drawn}"


def test_images_dashboard_shows_every_lessons_pictures(page, tensorboard):
    show_tags(page, tensorboard, "images", "img[src*='individualImage']", ".")
    screenshot(page, "images")
    shown = set()
    for src, width in page.locator("img[src*='individualImage']").evaluate_all(
        "images => images.map(i => [i.src, i.naturalWidth])"
    ):
        key = src.split("blob_key=")[1].split("&")[0]
        _, run, tag, *_ = json.loads(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))
        if width > 0:
            shown.add((run, tag))
    for lesson, tags in IMAGES.items():
        for tag in tags:
            assert (lesson, tag) in shown, f"{lesson} shows no {tag} image; shown: {sorted(shown)}"


def test_hparams_dashboard_lists_real_final_metrics(page, tensorboard, logdir):
    page.goto(f"{tensorboard}/#hparams")
    page.wait_for_selector("vaadin-grid-cell-content", timeout=30_000)
    cells = page.locator("vaadin-grid-cell-content")
    deadline = time.monotonic() + 30
    texts = [t.strip() for t in cells.all_inner_texts()]
    while not set(RUNS) <= set(texts) and time.monotonic() < deadline:  # rows arrive after the header
        page.wait_for_timeout(500)
        texts = [t.strip() for t in cells.all_inner_texts()]
    header = texts[: texts.index("")]
    screenshot(page, "hparams")
    assert "hp_metric" not in header
    column = header.index("final/val/loss")
    for lesson in RUNS:
        shown = float(texts[texts.index(lesson) + column])
        logged = json.loads((logdir / lesson / "metrics.json").read_text())["metrics"]["val/loss"]
        assert shown == pytest.approx(logged, rel=1e-3), (lesson, shown, logged)  # the run's own value
