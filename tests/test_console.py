"""A quiet console, and `train.log` holding exactly what it showed: for a finished, a failed and an
interrupted run, and a sweep that prints a line a job."""

import os
import re
import subprocess

import pytest
from conftest import KILLER, KILLER_ENV, ROOT, cli

from lightning_lessons.results.runs import Run, lesson_runs

# The default lesson, shortened: its console has the same shape as the full run's.
R2 = ("epochs=2000", "data.n_samples=2000")
C1 = ("lesson=logistic_regression", "epochs=40")


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def only_run(logs, lesson: str) -> Run:
    (run,) = lesson_runs(logs, lesson)
    return run


def assert_log_is_console(completed: subprocess.CompletedProcess[str], run: Run) -> None:
    shown = lines(completed.stdout) + lines(completed.stderr)
    assert sorted(lines(run.log_path.read_text())) == sorted(shown)


@pytest.mark.heavy
def test_a_default_run_prints_what_runs_progress_results_and_where(tmp_path):
    completed = cli(*R2, f"paths.log_dir={tmp_path}")
    assert completed.returncode == 0, completed.stderr[-2000:]
    shown = lines(completed.stdout) + lines(completed.stderr)
    assert len(shown) <= 30, "\n".join(shown)
    text = completed.stdout + completed.stderr
    for noise in (
        "GPU available",
        "TPU available",
        "Total params",
        "config of",
        "Restoring states",
        "Warning",
    ):
        assert noise not in text
    run = only_run(tmp_path, "linear_regression")
    assert shown[0].startswith("linear_regression (R2), seed 42:")
    assert sum(line.startswith("epoch ") for line in shown) == 10
    assert f"run folder {run.folder}" in text and re.search(r"test/loss\s+\d", text)
    assert_log_is_console(completed, run)


@pytest.mark.heavy
def test_the_config_tree_is_shown_when_asked_and_never_cut(tmp_path):
    completed = cli(*C1, "print_config=true", f"paths.log_dir={tmp_path}")
    assert completed.returncode == 0, completed.stderr[-2000:]
    run = only_run(tmp_path, "logistic_regression")
    assert "config of logistic_regression" in completed.stdout
    # Off a terminal the lines are as wide as they need: every folder appears whole.
    assert f"output_dir: {run.folder}" in completed.stdout
    assert f"dirpath: {run.checkpoints}" in completed.stdout
    assert_log_is_console(completed, run)


@pytest.mark.heavy
def test_lightnings_own_lines_come_back_when_asked(tmp_path):
    completed = cli(*C1, "hydra.verbose=lightning", f"paths.log_dir={tmp_path}")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "GPU available" in completed.stdout + completed.stderr
    assert "GPU available" in only_run(tmp_path, "logistic_regression").log_path.read_text()


@pytest.mark.heavy
def test_a_failed_run_keeps_its_console_and_the_error_line(tmp_path):
    # R4 at lr=0.1 overflows at update 7: the run stays, to show how it diverged.
    completed = cli(
        "lesson=nonlinear_regression", "model.optimizer.lr=0.1", "epochs=200", f"paths.log_dir={tmp_path}"
    )
    assert completed.returncode == 2 and "error: " in completed.stderr, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
    run = only_run(tmp_path, "nonlinear_regression")
    log = run.log_path.read_text()
    assert [line for line in lines(log) if line.startswith("error: ")] == [
        line for line in lines(completed.stderr) if line.startswith("error: ")
    ]
    assert_log_is_console(completed, run)


@pytest.mark.heavy
def test_an_interrupted_run_keeps_its_console_and_how_to_resume(tmp_path):
    env = {**os.environ, **KILLER_ENV, "KILL_AT_STEP": "150", "KILL_SIGNAL": "SIGINT"}
    args = ("lesson=linear_regression_scratch", "epochs=1000", KILLER, f"paths.log_dir={tmp_path}")
    completed = cli(*args, env=env)
    assert completed.returncode == 130, completed.stderr[-2000:]
    run = only_run(tmp_path, "linear_regression_scratch")
    log = run.log_path.read_text()
    assert "SIGINT: linear_regression_scratch stopped at step 150" in log and "resume=" in log
    assert_log_is_console(completed, run)


@pytest.mark.heavy
def test_a_four_job_sweep_prints_a_line_a_job_and_one_table(tmp_path):
    completed = cli("-m", *C1, "seed=1,2,3,4", f"paths.log_dir={tmp_path}")
    assert completed.returncode == 0, completed.stderr[-2000:]
    shown = lines(completed.stdout) + lines(completed.stderr)
    assert len(shown) <= 60, "\n".join(shown)
    assert [line.split(":")[0].strip() for line in shown if line.startswith("  job ")] == [
        f"job {n}" for n in range(4)
    ]
    sweep = next((tmp_path / "logistic_regression" / "multiruns").iterdir())
    for job in range(4):  # each job's whole console is in its own train.log
        log = (sweep / str(job) / "train.log").read_text()
        assert f"seed {job + 1}:" in log and "test/acc" in log


def test_make_help_lists_every_target():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z0-9.-]+):", makefile, flags=re.MULTILINE))
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    listed = set(re.findall(r"^  make (\S+)", shown.stdout, flags=re.MULTILINE))
    assert targets - {"help"} <= listed, targets - listed
