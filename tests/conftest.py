"""Shared helpers: run a lesson in this process (one `import lightning` for the whole suite)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_lessons.config import compose

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"  # the browser tests' screenshots
# A callback that kills its run at a known step (tests/helpers/kill.py), and the environment a run
# needs to import it and to rebuild it on resume (a run folder's own classes are not trusted).
KILLER = "+callbacks.kill._target_=helpers.kill.KillAtStep"  # acts only where $KILL_AT_STEP is set
KILLER_ENV = {"PYTHONPATH": str(ROOT / "tests"), "LESSONS_TRUSTED_TARGETS": "helpers.kill.KillAtStep"}


def lesson_config(lesson: str, output_dir: Path, *overrides: str):
    return compose([f"lesson={lesson}", f"paths.output_dir={output_dir}", *overrides])


@pytest.fixture
def run_lesson(tmp_path: Path) -> Callable[..., tuple[dict[str, Any], Path]]:
    """Train a lesson with overrides; return its results and its run folder."""
    from lightning_lessons.train import train

    def run(lesson: str, *overrides: str, name: str = "run") -> tuple[dict[str, Any], Path]:
        output_dir = tmp_path / name
        return train(lesson_config(lesson, output_dir, *overrides)), output_dir

    return run


def events(run_dir: Path) -> EventAccumulator:
    """The run's TensorBoard event files, read back by TensorBoard's own reader."""
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def scalar_values(run_dir: Path, tag: str) -> list[float]:
    return [event.value for event in events(run_dir).Scalars(tag)]


def tool(
    module: str, *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m lightning_lessons.<module> ...` as a user runs it, in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", f"lightning_lessons.{module}", *args],
        cwd=cwd,
        env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """`python -m lightning_lessons.train ...`; `tool`'s options."""
    return tool("train", *args, **options)


def write_idx(path: Path, array) -> None:
    """Write a uint8 tensor as an IDX file: the real MNIST format (magic, dimensions, bytes)."""
    import struct

    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">HBB", 0, 0x08, array.dim()) + struct.pack(f">{array.dim()}I", *array.shape)
    path.write_bytes(header + array.contiguous().numpy().tobytes())


def tiny_digits(count: int, seed: int):
    """Learnable 28x28 'digits': class k is a bright 6x6 block at a position of its own, plus noise."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    images = torch.randint(0, 60, (count, 28, 28), generator=generator, dtype=torch.uint8)
    for index, label in enumerate(labels.tolist()):
        row, column = 2 + 8 * (label // 4), 2 + 6 * (label % 4)
        images[index, row : row + 6, column : column + 6] = 255
    return images, labels.to(torch.uint8)


def write_tiny_mnist(root: Path, folder: str = "MNIST", train: int = 120, test: int = 40) -> Path:
    """Four IDX files under `<root>/<folder>/raw`, as torchvision expects them; returns `root`."""
    raw = root / folder / "raw"
    for prefix, count, seed in (("train", train, 0), ("t10k", test, 1)):
        images, labels = tiny_digits(count, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    return write_tiny_mnist(tmp_path / "data")


@pytest.fixture(scope="module")
def tiny_mnist_and_fashion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny MNIST and Fashion-MNIST under one data folder: V1 trains T1's source, T1 transfers it."""
    root = tmp_path_factory.mktemp("data")
    return write_tiny_mnist(write_tiny_mnist(root), folder="FashionMNIST")


MNIST_SMALL = (
    "data.download=false",
    "data.val_size=20",
    "data.batch_size=20",
    "data.eval_batch_size=20",
    "trainer.log_every_n_steps=2",
)
# V1's network (and T1's, which takes V1's features) at 16 and 32 channels and 128 hidden units: 0.8M
# weights instead of 25.8M (checkpoints of 10 MB, not 300), for tests of what a run does (resume, eval,
# predict, equivalence), not of its size. Tiny MNIST is still learnt in 2 epochs (accuracy 100%).
SMALL_CNN = ("+model.net.channels=[16,32]", "+model.net.hidden=128")
# T1 on tiny Fashion-MNIST: 4 labelled images per class, one batch of 40 an epoch.
TINY_TRANSFER = (
    *MNIST_SMALL,
    *SMALL_CNN,
    "data.archive_dir=null",
    "data.labels_per_class=4",
    "data.batch_size=40",
    "callbacks.predictions=null",
)


def screenshot(page: Any, name: str) -> None:
    """A browser test's whole page, as `test-artifacts/e2e/<name>.png`."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
