"""End to end: a study's runs side by side in TensorBoard's Scalars dashboard, in headless Chromium.

Runs the `losses` study (shortened) as `make study` does, serves its folder alone, as the study tells
the user to (`tensorboard --logdir <study folder>`), and checks that the run selector lists both runs
and that the `train/loss` chart draws a line for each. Screenshot: `test-artifacts/e2e/study_losses.png`.
Run with `make test-e2e`.
"""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS
from dashboards import browser_page, show_tags, tensorboard_server

from lightning_lessons.studies import run as studies

pytestmark = pytest.mark.e2e

RUNS = {"mse", "l1"}


def test_a_studys_runs_are_drawn_side_by_side_in_one_scalars_chart(tmp_path):
    folder = studies.run_study(
        studies.load_study("losses"), tmp_path, ["epochs=200", "callbacks.progress=null"]
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tensorboard_server(folder, RUNS) as base, browser_page(width=1400, height=1000) as page:
        show_tags(page, base, "scalars", "tf-scalar-card path.line", "^train/loss$")
        page.screenshot(path=str(ARTIFACTS / "study_losses.png"), full_page=True)
        listed = page.locator("tf-runs-selector paper-checkbox").evaluate_all(
            "boxes => boxes.map(b => b.name)"
        )
        assert sorted(listed) == sorted(RUNS), listed
        cards = page.locator("tf-scalar-card")
        (card,) = [
            cards.nth(i) for i in range(cards.count()) if cards.nth(i).evaluate("c => c.tag") == "train/loss"
        ]
        lengths = card.locator("path.line").evaluate_all(
            "lines => lines.map(l => (l.getAttribute('d') || '').length)"
        )
        assert sum(length > 100 for length in lengths) >= len(RUNS), lengths  # a line (and its ghost) per run
