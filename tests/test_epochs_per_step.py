"""Full-batch lessons run several of the notes' epochs in one Lightning step (LessonTrainer): everything a
user sees is what one epoch a step gives, to the last digit: results, TensorBoard's curves and their
x-axis, checkpoints (weights, epoch, step), progress lines, and a run killed with -9 and resumed."""

import os
from pathlib import Path

import pytest
import torch
from conftest import ROOT, cli, events, lesson_config

from lightning_lessons.results.runs import lesson_runs
from lightning_lessons.train import train

# 200 epochs, validated, checkpointed and drawn every 20, a progress line every 10: 10 epochs a step;
# logged every 5, so in the middle of each step.
C2 = ("trainer.max_epochs=200", "trainer.log_every_n_steps=5", "trainer.check_val_every_n_epoch=20")
QUIET = ("print_config=false", "num_threads=1")


def curves(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    accumulator = events(run_dir)
    return {
        tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]
    }


def checkpoint(run_dir: Path, name: str = "last") -> dict:
    return torch.load(run_dir / "checkpoints" / f"{name}.ckpt", weights_only=False)


def fit(tmp_path: Path, name: str, *overrides: str, capture=None) -> tuple[dict, Path, list[str]]:
    run_dir = tmp_path / name
    result = train(lesson_config("multiclass_classification", run_dir, *C2, *QUIET, *overrides))
    out = capture.readouterr().out if capture is not None else ""
    return result, run_dir, [line for line in out.splitlines() if line.startswith("epoch ")]


def test_ten_epochs_a_step_show_exactly_what_one_epoch_a_step_shows(tmp_path, capfd):
    ten, ten_dir, ten_lines = fit(tmp_path, "ten", capture=capfd)
    one, one_dir, one_lines = fit(tmp_path, "one", "trainer.epochs_per_step=1", capture=capfd)
    saved = [checkpoint(run_dir) for run_dir in (ten_dir, one_dir)]
    assert [c["epochs_per_step"] for c in saved] == [10, 1]  # the mechanism ran, and did not
    assert ten["metrics"] == one["metrics"] and ten["epochs"] == one["epochs"] == 200
    assert ten_lines == one_lines and ten_lines[-1].startswith("epoch 200/200")  # progress, in epochs
    assert len(ten_lines) == 20
    assert curves(ten_dir) == curves(one_dir)  # every tag, x-axis step and value
    for name in ("last", "best"):
        a, b = checkpoint(ten_dir, name), checkpoint(one_dir, name)
        assert (a["epoch"], a["global_step"]) == (b["epoch"], b["global_step"])
        assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert checkpoint(ten_dir)["global_step"] == 200


def test_a_run_resumed_with_another_count_a_step_ends_as_the_uninterrupted_one(tmp_path):
    whole, whole_dir, _ = fit(tmp_path, "whole", "callbacks.progress=null")
    _, first_dir, _ = fit(
        tmp_path, "first", "trainer.max_epochs=40", "callbacks.progress=null"
    )  # 20 a step (no progress lines; logging is no limit), stopped at 40
    # 40 more epochs at 5 a step (at most 5 asked; 5 divides what is done and the cadences), then 20 a step
    resumed, _, _ = fit(
        tmp_path,
        "first",
        f"ckpt_path={first_dir / 'checkpoints' / 'last.ckpt'}",
        "trainer.max_epochs=80",
        "trainer.epochs_per_step=5",
        "callbacks.progress=null",
    )
    assert checkpoint(first_dir)["epochs_per_step"] == 5 and checkpoint(first_dir)["global_step"] == 80
    last = f"ckpt_path={first_dir / 'checkpoints' / 'last.ckpt'}"
    resumed, _, _ = fit(tmp_path, "first", last, "callbacks.progress=null")
    assert resumed["metrics"] == whole["metrics"] and resumed["epochs"] == 200
    a, b = checkpoint(first_dir), checkpoint(whole_dir)
    assert a["epochs_per_step"] == 20 and a["global_step"] == b["global_step"] == 200
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_kill_9_between_checkpoints_and_resume_latest_end_as_an_uninterrupted_run(tmp_path):
    args = ("lesson=multiclass_classification", *C2, *QUIET, "callbacks.progress=null")
    killer = "+callbacks.kill._target_=helpers.kill.KillAtStep"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "KILL_AT_STEP": "50"}
    killed = cli(*args, killer, f"paths.log_dir={tmp_path / 'killed'}", env=env)
    assert killed.returncode == -9, killed.stderr[-2000:]
    (run,) = lesson_runs(tmp_path / "killed", "multiclass_classification")
    saved = torch.load(run.last, weights_only=False)
    assert (saved["global_step"], saved["epoch"], saved["epochs_per_step"]) == (40, 39, 20)  # saved at 20, 40
    del env["KILL_AT_STEP"]
    resumed = cli(
        "lesson=multiclass_classification", "resume=latest", f"paths.log_dir={tmp_path / 'killed'}", env=env
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    whole = cli(*args, f"paths.log_dir={tmp_path / 'whole'}", env=env)
    assert whole.returncode == 0, whole.stderr[-2000:]
    (uninterrupted,) = lesson_runs(tmp_path / "whole", "multiclass_classification")
    assert run.metrics()["metrics"] == uninterrupted.metrics()["metrics"]
    weights = [torch.load(r.last, weights_only=False)["state_dict"] for r in (run, uninterrupted)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert curves(run.folder) == curves(uninterrupted.folder)


@pytest.mark.parametrize("overrides", [("data.batch_size=500",), ("trainer.epochs_per_step=1",)])
def test_mini_batches_or_one_epoch_a_step_keep_lightnings_own_loop(tmp_path, overrides):
    _, run_dir, _ = fit(tmp_path, "run", "trainer.max_epochs=20", *overrides)
    assert checkpoint(run_dir)["epochs_per_step"] in (0, 1)


def test_a_checkpoint_of_lightnings_own_loop_resumes_with_ten_epochs_a_step(tmp_path):
    """A run saved by a plain `lightning.Trainer` (one update a step, Lightning's own optimization, as
    before LessonTrainer) goes on from its step count and ends as an uninterrupted run."""
    quiet = "callbacks.progress=null"
    whole, whole_dir, _ = fit(tmp_path, "whole", quiet)
    plain = ("trainer._target_=lightning.Trainer", "~trainer.epochs_per_step", "trainer.max_epochs=40")
    _, first_dir, _ = fit(tmp_path, "first", *plain, quiet)
    assert "epochs_per_step" not in checkpoint(first_dir)
    last = f"ckpt_path={first_dir / 'checkpoints' / 'last.ckpt'}"
    resumed, _, _ = fit(tmp_path, "first", last, "trainer.epochs_per_step=10", quiet)
    assert resumed["metrics"] == whole["metrics"]
    a, b = checkpoint(first_dir), checkpoint(whole_dir)
    assert (a["epochs_per_step"], a["global_step"], a["epoch"]) == (10, 200, b["epoch"])
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
