"""End to end: the TensorBoard extras of issue #16 as a person sees them in headless Chromium.

Two short real runs (C1 and V1 on tiny MNIST files) in one log directory; then the Custom Scalars
page must draw a chart with a training and a validation line, the Graphs page the network's nodes,
the Projector V1's embedding with its 10 labels and its sprite, and the PR Curves page one curve per
class. Screenshots go to `test-artifacts/e2e/`. Run with `make test-e2e`.
"""

from __future__ import annotations

import pytest
from conftest import MNIST_SMALL, screenshot
from dashboards import (
    color_projector_by,
    show_graph,
    show_projector,
)

pytestmark = pytest.mark.e2e

PAGE = {"width": 1400, "height": 1000}  # the browser window (conftest's `page`)
RUNS = {
    "logistic_regression": ["epochs=60"],
    "mnist_cnn": [*MNIST_SMALL, "trainer.max_epochs=2"],
}
DIGITS = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four"]
DIGITS += ["5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]  # torchvision's MNIST.classes


def drawn_lines(card) -> list[int]:
    """The length of each line's path in a chart card: a line that is drawn has a long one."""
    return card.locator("path.line").evaluate_all("ls => ls.map(l => (l.getAttribute('d') || '').length)")


def test_custom_scalars_chart_draws_train_and_val_together(page, tensorboard):
    page.goto(f"{tensorboard}/#custom_scalars")
    page.wait_for_selector("tf-custom-scalar-multi-line-chart-card path.line", timeout=30_000)
    page.wait_for_timeout(3000)
    cards = page.locator("tf-custom-scalar-multi-line-chart-card")
    titles = [cards.nth(i).evaluate("card => card.title") for i in range(cards.count())]
    assert {"loss", "acc"} <= set(titles), titles
    loss = cards.nth(titles.index("loss"))
    assert sum(length > 100 for length in drawn_lines(loss)) >= 2, drawn_lines(loss)
    # What a person hovering over the chart reads: both curves of C1, by name.
    box = loss.locator("vz-line-chart2").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(1000)
    screenshot(page, "custom_scalars")
    shown = {
        series: page.locator(f"text={series} >> visible=true").count()
        for series in ("train/loss (logistic_regression)", "val/loss (logistic_regression)")
    }
    page.mouse.move(0, 0)  # the tooltip goes
    assert all(count == 1 for count in shown.values()), shown


def test_graph_dashboard_draws_the_networks_nodes(page, tensorboard):
    show_graph(page, tensorboard, "mnist_cnn", expand="MNISTConvNet")
    screenshot(page, "graph")
    labels = page.locator("g.node > text").evaluate_all("texts => texts.map(t => t.textContent)")
    assert page.locator("g.node").count() >= 5, labels
    for name in ("input", "output", "MNISTConvNet", "Sequential[featu", "Sequential[class"):
        assert any(name in label for label in labels), (name, labels)


def test_projector_loads_v1_embedding_with_ten_labels_and_its_sprite(page, tensorboard):
    sprites = []
    page.on("response", lambda r: sprites.append(r) if "projector/sprite_image" in r.url else None)
    frame = show_projector(page, tensorboard)
    assert frame.locator("text=Points: 40 >> visible=true").count() == 1
    assert frame.locator("text=Dimension: 1024 >> visible=true").count() == 1
    tensor = frame.locator("vz-projector-data-panel paper-dropdown-menu").first.evaluate("menu => menu.value")
    assert tensor.startswith("net.classifier.2:")  # add_embedding names it <tag>:<step>
    colors = color_projector_by(frame, "label")
    assert colors.split() == ["label", "10", "colors"], colors
    screenshot(page, "projector")
    assert [r.status for r in sprites] == [200] and sprites[0].headers["content-type"] == "image/png"
    width = frame.locator("vz-projector").evaluate(
        "p => p.dataSet.spriteAndMetadataInfo.spriteImage.naturalWidth"
    )
    assert width == 7 * 28  # 40 digits of 28x28, 7 a row


def test_pr_curves_dashboard_draws_one_curve_per_class(page, tensorboard):
    page.goto(f"{tensorboard}/#pr_curves")
    page.wait_for_selector("tf-pr-curve-card path.line", timeout=30_000)
    page.wait_for_timeout(3000)
    screenshot(page, "pr_curves")
    cards = page.locator("tf-pr-curve-card")
    drawn = {}
    for index in range(cards.count()):
        card = cards.nth(index)
        drawn[card.evaluate("card => card.tag")] = max(drawn_lines(card), default=0)
    # C1's two classes and V1's ten, each its own chart with its curve drawn.
    assert sorted(drawn) == sorted(["pr_curve/0", "pr_curve/1", *(f"pr_curve/{name}" for name in DIGITS)])
    assert all(length > 10 for length in drawn.values()), drawn
