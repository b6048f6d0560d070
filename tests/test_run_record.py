"""A run's record never lies and is never lost: a resume that would change what the run computes is
refused and leaves the run as it was, signals leave a resumable run that says so, two runs never share a
folder, and a start that fails on the user's input leaves no run folder."""

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest
import torch
from conftest import KILLER, KILLER_ENV, ROOT, cli, lesson_config

from lightning_lessons.cli import check_command_line, resume_arguments, run_dir_problem
from lightning_lessons.errors import ResumeError, RunFolderError
from lightning_lessons.results.runs import Run, lesson_runs
from lightning_lessons.train import train

QUIET = ("callbacks.progress=null", "print_config=false")
R4 = ("lesson=nonlinear_regression", "epochs=40", "data.n_samples=200", *QUIET)


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file of a folder, by relative path, with the hash of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def r4_run(tmp_path_factory) -> Run:
    """A finished-to-epoch-40 R4 run, made by the command line as a user makes it."""
    logs = tmp_path_factory.mktemp("r4")
    completed = cli(*R4, f"paths.log_dir={logs}")
    assert completed.returncode == 0, completed.stderr[-2000:]
    (run,) = lesson_runs(logs, "nonlinear_regression")
    return run


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("model.optimizer.lr=0.0001", "model.optimizer.lr (0.01 -> 0.0001)"),
        ("model.net.hidden=[50]", "model.net.hidden ([20] -> [50])"),
        ("model/optimizer=adam", "model.optimizer._target_ (torch.optim.SGD -> torch.optim.Adam)"),
        ("seed=3", "seed (42 -> 3)"),
        ("data.n_samples=300", "data.n_samples (200 -> 300)"),
        ("monitor=train/loss", "monitor (val/loss -> train/loss)"),
    ],
)
def test_a_resume_that_changes_the_maths_is_refused_by_name_and_changes_nothing(r4_run, change, named):
    before = fingerprint(r4_run.folder)
    with pytest.raises(ResumeError, match="cannot change") as refused:
        resume_arguments([f"resume={r4_run.folder}", "epochs=80", change])
    assert named in str(refused.value) and "\n" not in str(refused.value)
    assert fingerprint(r4_run.folder) == before


def test_a_resume_takes_the_runs_own_lesson_and_refuses_another(r4_run):
    args = resume_arguments([f"resume={r4_run.folder}", "epochs=80"])
    assert "lesson=nonlinear_regression" in args
    with pytest.raises(ResumeError, match="is a run of lesson nonlinear_regression, not linear_regression"):
        resume_arguments(["lesson=linear_regression", f"resume={r4_run.folder}", "epochs=80"])
    # `make train ARGS="resume=..."` does not pass the Makefile's default lesson; a given one it does.
    assert "lesson=" not in make_train_line("ARGS=resume=x")
    assert "lesson=mnist_cnn" in make_train_line("LESSON=mnist_cnn")


def make_train_line(*make_args: str) -> str:
    """The command `make train` would run (inside another make too, which adds its own lines)."""
    dry = subprocess.run(["make", "-n", "train", *make_args], cwd=ROOT, capture_output=True, text=True)
    (line,) = [line for line in dry.stdout.splitlines() if "lightning_lessons.train" in line]
    return line


def test_a_finished_run_asked_for_fewer_epochs_says_how_many_it_trained(r4_run):
    # It used to repeat the epochs asked for as the run's own, and its advice went round in circles.
    with pytest.raises(ResumeError, match=r"trained all 40 of its epochs \(epochs=40\).* epochs=80;"):
        resume_arguments([f"resume={r4_run.folder}", "epochs=10"])


@pytest.mark.heavy
def test_failed_resumes_are_one_error_line_and_leave_the_run_byte_for_byte(r4_run, tmp_path):
    before = fingerprint(r4_run.folder)
    for args in (
        [f"resume={r4_run.folder}", "model/optimizer=adam", "epochs=80"],
        ["lesson=linear_regression", f"resume={r4_run.folder}", "epochs=80"],
    ):
        completed = cli(*args)
        assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
        assert completed.stderr.startswith("error: ") and completed.stderr.count("\n") == 1
    assert fingerprint(r4_run.folder) == before

    # A corrupt last.ckpt, in a copy of the run: refused by name, nothing rewritten.
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(r4_run.folder), str(copy)], check=True)
    Run(copy).last.write_bytes(Run(copy).last.read_bytes()[:1000])
    before = fingerprint(copy)
    completed = cli(f"resume={copy}", "epochs=80")
    assert completed.returncode == 2 and "is not a readable checkpoint" in completed.stderr
    assert fingerprint(copy) == before


@pytest.mark.heavy
def test_a_resume_that_fails_after_hydra_started_puts_the_run_back(r4_run, tmp_path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(r4_run.folder), str(copy)], check=True)
    before = fingerprint(copy)
    # Passes every check before Hydra starts, and fails when the Trainer is built (this machine has no GPU).
    completed = cli(f"resume={copy}", "epochs=80", "trainer.accelerator=gpu")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert fingerprint(copy) == before


@pytest.mark.heavy
def test_a_longer_resume_is_allowed_and_recorded(r4_run, tmp_path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(r4_run.folder), str(copy)], check=True)
    completed = cli(f"resume={copy}", "epochs=60", "print_config=true")
    assert completed.returncode == 0, completed.stderr[-2000:]
    run = Run(copy)
    assert run.config().epochs == 60 and run.metrics()["steps"] == 60  # full batch: a step an epoch
    assert "epochs=60" in run.saved_overrides() and "epochs=60" in run.metrics()["overrides"]


@pytest.mark.heavy
@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_exits_non_zero_saves_where_it_stopped_and_resumes_exactly(name, code, tmp_path):
    args = ("lesson=linear_regression_scratch", "epochs=1000", *QUIET)
    env = {**os.environ, **KILLER_ENV, "KILL_AT_STEP": "333", "KILL_SIGNAL": name}
    stopped = cli(*args, KILLER, f"paths.log_dir={tmp_path / 'stopped'}", env=env)
    assert stopped.returncode == code, stopped.stderr[-2000:]
    (run,) = lesson_runs(tmp_path / "stopped", "linear_regression_scratch")
    record = run.metrics()
    assert record["status"] == "interrupted" and record["signal"] == name
    assert 333 <= record["steps"] < 1000
    assert torch.load(run.last, weights_only=True)["global_step"] == record["steps"]  # where it stopped
    assert 'resume it with: make train ARGS="resume=' in stopped.stderr

    del env["KILL_AT_STEP"]
    resumed = cli(f"resume={run.folder}", env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert cli(*args, f"paths.log_dir={tmp_path / 'whole'}").returncode == 0
    (uninterrupted,) = lesson_runs(tmp_path / "whole", "linear_regression_scratch")
    ours, theirs = (torch.load(r.last, weights_only=True) for r in (run, uninterrupted))
    assert ours["global_step"] == theirs["global_step"] == 1000
    for key, value in theirs["state_dict"].items():
        assert torch.equal(ours["state_dict"][key], value), key
    assert run.metrics()["status"] == "completed"


def test_two_runs_never_share_a_folder(r4_run, tmp_path):
    # A new run into a folder that holds files: refused before anything is written.
    problem = run_dir_problem([*R4, f"hydra.run.dir={r4_run.folder}"])
    assert "already holds files: a new run needs a folder of its own" in problem
    # While a run holds its folder's lock, a resume of it and a second run into it are refused, and
    # the second run removes nothing of the first's.
    busy = tmp_path / "busy"
    with Run(busy).lock():
        with pytest.raises(ResumeError, match="is running now"):
            (busy / ".hydra").mkdir()
            (busy / ".hydra" / "config.yaml").write_text("{}")
            (busy / "checkpoints").mkdir()
            (busy / "checkpoints" / "last.ckpt").write_bytes(b"")
            resume_arguments([f"resume={busy}"])
        with pytest.raises(RunFolderError, match="is in use"):
            train(lesson_config("linear_regression_scratch", busy, "epochs=20", *QUIET))
        assert (busy / ".hydra" / "config.yaml").read_text() == "{}"
    # The lock is the operating system's: once its holder is gone, the folder is free again.
    assert not Run(busy).busy()


def test_a_lesson_has_a_length():
    for length, expected in (
        ("trainer.max_epochs=-1", "trainer.max_epochs=-1 is out of range: must be >= 1 and <= 1e+06"),
        ("trainer.max_epochs=1000000000000", "must be >= 1 and <= 1e+06"),
        ("epochs=1000000000000", "epochs=1000000000000 is out of range"),
    ):
        lesson = "lesson=mnist_cnn" if "max_epochs" in length else "lesson=linear_regression"
        problem = check_command_line([lesson, length])  # before Hydra makes a run folder
        assert expected in problem and "\n" not in problem, problem


@pytest.mark.heavy
def test_a_signal_to_a_ddp_run_stops_every_process_and_keeps_its_epoch_end_checkpoint(tmp_path):
    args = ("lesson=linear_regression_scratch", "epochs=1000", "trainer=ddp_cpu", *QUIET)
    env = {**os.environ, **KILLER_ENV, "KILL_AT_STEP": "333"}
    env |= {"KILL_SIGNAL": "SIGTERM", "KILL_PARENT": "1"}  # rank 0 signals the main process
    stopped = cli(*args, KILLER, f"paths.log_dir={tmp_path}", env=env)
    assert stopped.returncode == 143, stopped.stderr[-2000:]
    (run,) = lesson_runs(tmp_path, "linear_regression_scratch")
    record = run.metrics()
    assert record["status"] == "interrupted" and "kept from the last epoch's end" in stopped.stderr
    assert record["steps"] == torch.load(run.last, weights_only=True)["global_step"] < 333
    before = fingerprint(run.folder)
    time.sleep(3)
    assert fingerprint(run.folder) == before  # no process of the run trains on
    del env["KILL_AT_STEP"]
    resumed = cli(f"resume={run.folder}", env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert run.metrics()["status"] == "completed" and run.metrics()["steps"] == 1000


@pytest.mark.heavy
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (("lesson=mnist_cnn", "paths.data_dir={tmp}/nowhere", "data.download=false"), "MNIST"),
        (("lesson=linear_regression", "ckpt_path={tmp}/missing.ckpt"), "missing.ckpt"),
        (("lesson=linear_regression", "trainer.accelerator=gpu"), "has none"),
        (("lesson=linear_regression", "trainer.accelerator=tpu"), "cannot build the trainer"),
    ],
)
def test_a_rejected_input_leaves_no_run_folder(overrides, expected, tmp_path):
    logs = tmp_path / "logs"
    completed = cli(*(o.format(tmp=tmp_path) for o in overrides), *QUIET, f"paths.log_dir={logs}")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert expected in completed.stderr
    assert not any(path.is_dir() for path in logs.glob("*/*")), list(logs.rglob("*"))
