"""Runs made before the stock core (LessonTrainer, several of the notes' epochs in one Lightning step)
still evaluate, predict and serve as a transfer source, and are refused in one line for a resume.

The fixture is a real R2 run of that code (100 epochs on 200 points), its machine's paths replaced by
placeholders that each test fills in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from conftest import cli, tool

from lightning_lessons.models import PretrainedWeights
from lightning_lessons.results.runs import run_folder

FIXTURE = Path(__file__).parent / "fixtures" / "old_r2_run"
pytestmark = pytest.mark.heavy  # each test runs the tools in processes of their own


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    folder = tmp_path / "logs" / "linear_regression" / "2026-12-03_11-23-41_11668"
    shutil.copytree(FIXTURE, folder)
    for path in (folder / ".hydra" / "config.yaml", folder / ".hydra" / "overrides.yaml"):
        text = (
            path.read_text()
            .replace("OLD_RUN_DIR", str(folder))
            .replace("OLD_LOG_DIR", str(tmp_path / "logs"))
        )
        path.write_text(text.replace("OLD_DATA_DIR", str(tmp_path / "data")))
    return folder


def test_an_old_run_evaluates_to_the_test_loss_it_logged(old_run):
    completed = tool("eval", f"run={old_run}")
    assert completed.returncode == 0, completed.stderr[-2000:]
    logged = run_folder(old_run).metrics()["metrics"]["test/loss"]
    row = next(line.split() for line in completed.stdout.splitlines() if line.startswith("test/loss"))
    assert float(row[1]) == pytest.approx(logged, rel=1e-6) and float(row[2]) == pytest.approx(
        logged, rel=1e-4
    )


def test_an_old_run_is_a_transfer_source_and_its_weights_load(old_run):
    path, state = PretrainedWeights(
        lesson="linear_regression", module="net", runs_dir=str(old_run.parents[1])
    ).state_dict()
    assert path == old_run / "checkpoints" / "best.ckpt" and set(state) == {"weight", "bias"}
    weights = run_folder(old_run).metrics()["parameters"]
    assert state["bias"].item() == pytest.approx(weights["bias"], abs=0.05)  # best.ckpt is near the end


def test_resuming_an_old_run_is_refused_in_one_line(old_run):
    (old_run / "checkpoints" / "best.ckpt").rename(old_run / "checkpoints" / "last.ckpt")
    completed = cli(f"resume={old_run}", "epochs=200")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    (line,) = completed.stderr.strip().splitlines()
    assert line.startswith("error: ") and "earlier version" in line and "not resumed" in line
    assert torch.load(old_run / "checkpoints" / "last.ckpt", weights_only=True)["epochs_per_step"] > 1
