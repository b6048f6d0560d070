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


def cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m lightning_lessons.train ...` as a user runs it, in a separate process."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lightning_lessons.train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
