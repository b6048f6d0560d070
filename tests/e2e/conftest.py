"""What every browser test module shares: short real runs of the module's `RUNS` (lesson: overrides),
TensorBoard serving them, and one Chromium page (`PAGE`: the window's size, if the module sets one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ARTIFACTS, lesson_config, write_tiny_mnist
from dashboards import browser_page, tensorboard_server


@pytest.fixture(scope="module")
def logdir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short real run of each lesson, each in its own folder under one log directory."""
    from lightning_lessons.train import train

    root = tmp_path_factory.mktemp("e2e")
    data = write_tiny_mnist(root / "data")
    for lesson, overrides in request.module.RUNS.items():
        output_dir = root / "logs" / lesson
        train(
            lesson_config(lesson, output_dir, f"paths.data_dir={data}", *overrides, "callbacks.progress=null")
        )
    return root / "logs"


@pytest.fixture(scope="module")
def tensorboard(request: pytest.FixtureRequest, logdir: Path) -> Iterator[str]:
    with tensorboard_server(logdir, set(request.module.RUNS)) as base:
        yield base


@pytest.fixture(scope="module")
def page(request: pytest.FixtureRequest, tensorboard: str) -> Iterator[object]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with browser_page(**getattr(request.module, "PAGE", {})) as page:
        yield page
