"""Faults survived: NaN stops at once, damaged files and unwritable folders are named before any work is
lost. (A killed run resuming to the same result: tests/test_resume.py.)"""

import pytest
import torch
from conftest import cli, lesson_config

from lightning_lessons.cli import check_command_line
from lightning_lessons.errors import CheckpointError, ConfigError
from lightning_lessons.experiment import build
from lightning_lessons.results.checkpoints import read_checkpoint

R4 = ("lesson=nonlinear_regression", "trainer.max_epochs=600", "data.batch_size=2500", "print_config=false")


def newest_run(logs):
    return max((logs / "nonlinear_regression").iterdir(), key=lambda path: path.stat().st_mtime)


def test_resume_with_nothing_to_resume_says_so(tmp_path):
    completed = cli("lesson=nonlinear_regression", f"paths.log_dir={tmp_path}", "resume=latest")
    assert completed.returncode == 2
    assert f"nothing to resume: no run under {tmp_path / 'nonlinear_regression'}" in completed.stderr
    assert "make train LESSON=nonlinear_regression" in completed.stderr


def test_a_diverging_loss_stops_the_run_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    completed = cli(
        "lesson=nonlinear_regression",
        "epochs=200",
        "data.steps_per_epoch=2",  # validated and saved every 2 steps; the loss overflows at step 7
        "model.optimizer.lr=0.1",
        f"paths.log_dir={tmp_path}",
    )
    assert completed.returncode != 0 and "Traceback" not in completed.stderr
    message = completed.stderr
    assert "loss became inf at step" in message and "learning rate too large" in message
    assert "lr=0.1: try a tenth of it" in message
    last = newest_run(tmp_path) / "checkpoints" / "last.ckpt"
    assert f"The last good checkpoint is {last}" in message
    state = torch.load(last, weights_only=True)["state_dict"]
    assert all(torch.isfinite(tensor).all() for tensor in state.values())
    assert not (newest_run(tmp_path) / "metrics.json").exists()


def test_a_corrupt_or_truncated_checkpoint_is_named(run_lesson, tmp_path):
    _, run_dir = run_lesson("nonlinear_regression", "epochs=20")
    data = (run_dir / "checkpoints" / "last.ckpt").read_bytes()
    truncated, garbage = tmp_path / "truncated.ckpt", tmp_path / "garbage.ckpt"
    truncated.write_bytes(data[: len(data) // 2])
    garbage.write_bytes(b"not a checkpoint" * 100)
    completed = cli(*R4, f"ckpt_path={truncated}", f"paths.log_dir={tmp_path / 'resumed'}")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert (
        f"error: {truncated} is not a readable checkpoint ({len(data) // 2} bytes; truncated or corrupt?)"
        in (completed.stderr)
    )
    with pytest.raises(CheckpointError, match=f"{garbage} is not a readable checkpoint"):
        read_checkpoint(garbage)
    torch.save({"weights": torch.ones(2)}, garbage)
    with pytest.raises(CheckpointError, match="not a Lightning checkpoint of this project: no state_dict"):
        read_checkpoint(garbage)


def test_an_unwritable_or_full_log_folder_fails_at_start(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    completed = cli(*R4, f"paths.log_dir={blocker / 'logs'}")
    assert completed.returncode == 2
    assert f"cannot write to the log folder {blocker / 'logs'}" in completed.stderr
    assert "paths.log_dir=<folder>" in completed.stderr

    problem = check_command_line([*R4, f"paths.log_dir={tmp_path / 'logs'}", "min_free_mb=1000000000"])
    assert f"the log folder {tmp_path / 'logs'} has only" in problem
    assert "MB free (less than min_free_mb=1e+09)" in problem
    assert list((tmp_path / "logs").iterdir()) == []  # no run folder was started


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_trainer_gpu_without_a_gpu_says_what_to_use_instead(tmp_path):
    with pytest.raises(ConfigError, match=r"asks for a CUDA GPU and this machine has none.*trainer=cpu"):
        build(lesson_config("linear_regression", tmp_path, "trainer=gpu"))
