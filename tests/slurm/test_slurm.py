"""The lessons on a real SLURM cluster (one node, this machine): sweeps through `hydra/launcher=slurm`,
DDP whose processes `srun` starts, a job requeued at its time-limit signal, a job that fails.

Each result is compared with the same work done here without SLURM. `make test-slurm` runs them; the
`slurm` fixture (conftest.py) starts the cluster, or uses the one `make slurm-up` started.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_lessons import report

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[2]
QUIET = ("callbacks.progress=null", "print_config=false")
C1 = ("lesson=logistic_regression", *QUIET)  # num_threads=1: the same numbers wherever it runs
TRAIN = (sys.executable, "-m", "lightning_lessons.train")


def train(*args: str, launcher: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m lightning_lessons.train ...`, through the SLURM launcher when `launcher='slurm'`."""
    extra = [f"hydra/launcher={launcher}"] if launcher else []
    return subprocess.run(
        [*TRAIN, *args, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sweep_folder(log_dir: Path, lesson: str = "logistic_regression") -> Path:
    (folder,) = (log_dir / lesson / "multiruns").iterdir()
    return folder


def rows(folder: Path) -> list[dict[str, str]]:
    """The sweep's results table, less the column that says where it was written."""
    with (folder / "results.csv").open(newline="") as file:
        return [{k: v for k, v in row.items() if k != "paths.log_dir"} for row in csv.DictReader(file)]


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]


def report_lines(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    report.main([str(log_dir)])
    return capsys.readouterr().out.splitlines()


def squeue(job: str) -> list[str]:
    """The job's state and the reason it waits, if SLURM still lists it."""
    listed = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T %r"], capture_output=True, text=True)
    return listed.stdout.split()


def test_a_sweep_on_slurm_gives_the_table_and_report_of_the_same_sweep_run_here(slurm, tmp_path, capsys):
    sweep = ("-m", *C1, "epochs=20", "seed=1,2")
    on_slurm = train(*sweep, f"paths.log_dir={tmp_path / 'slurm'}", launcher="slurm")
    assert on_slurm.returncode == 0, on_slurm.stderr[-3000:]
    here = train(*sweep, f"paths.log_dir={tmp_path / 'here'}")
    assert here.returncode == 0, here.stderr[-3000:]

    slurm_sweep, local_sweep = sweep_folder(tmp_path / "slurm"), sweep_folder(tmp_path / "here")
    assert len(list((slurm_sweep / ".submitit").glob("*_[01]/*_[01]_result.pkl"))) == 2  # 2 SLURM jobs ran
    on_cluster, local = rows(slurm_sweep), rows(local_sweep)
    assert [(row["job"], row["seed"], row["status"]) for row in on_cluster] == [
        ("0", "1", "completed"),
        ("1", "2", "completed"),
    ]
    assert on_cluster == local  # same seeds, same metrics, to the last digit
    assert metrics(slurm_sweep / "0")["metrics"] != metrics(slurm_sweep / "1")["metrics"]  # seeds differ
    # The console: the sweep's table, without submitit's note at every poll of a cluster with no accounting.
    assert "Bypassing sacct error" not in on_slurm.stdout + on_slurm.stderr
    assert "accounting storage is disabled" not in on_slurm.stderr  # sacct's own line, once a poll
    assert f"sweep {slurm_sweep}: 2 jobs, 0 failed" in on_slurm.stdout

    slurm_report = report_lines(tmp_path / "slurm", capsys)
    assert slurm_report[0] == "logistic_regression: 2 finished runs"
    assert slurm_report == report_lines(tmp_path / "here", capsys)


def test_a_job_that_fails_on_slurm_is_a_failed_row_and_the_other_jobs_results_are_kept(slurm, tmp_path):
    # R4 at lr=0.1 diverges within 200 steps (the notes' epochs): the NaN guard stops that job
    # (tests/test_faults.py).
    completed = train(
        "-m",
        "lesson=nonlinear_regression",
        *QUIET,
        "epochs=200",
        "model.optimizer.lr=0.01,0.1",
        f"paths.log_dir={tmp_path}",
        launcher="slurm",
    )
    assert completed.returncode == 1, completed.stderr[-3000:]
    assert "error: job(s) 1 failed" in completed.stderr
    folder = sweep_folder(tmp_path, "nonlinear_regression")
    good, bad = rows(folder)
    assert good["status"] == "completed" and good["error"] == "" and math.isfinite(float(good["val/loss"]))
    assert {name: float(good[name]) for name in metrics(folder / "0")["metrics"]} == metrics(folder / "0")[
        "metrics"
    ]
    assert bad["status"] == "failed" and bad["model.optimizer.lr"] == "0.1"
    assert "learning rate too large" in bad["error"] and bad["error"] == metrics(folder / "1")["error"]
    assert (folder / "1" / "error.txt").is_file() and bad["val/loss"] == ""


def job_logs(log_dir: Path) -> str:
    """The end of every task's log of a sweep's jobs: what a failure message should show."""
    logs = sorted(log_dir.glob("*/multiruns/*/.submitit/*/*_log.*"))
    return "".join(f"\n--- {log.name}\n" + log.read_text()[-1500:] for log in logs)


def wait_for_checkpoint(sweep: subprocess.Popen, log_dir: Path, deadline: float) -> str:
    """The SLURM job id of a one-job sweep, once its training is under way (its first checkpoint)."""
    while not list(log_dir.glob("*/multiruns/*/0/checkpoints/last.ckpt")):
        assert sweep.poll() is None and time.monotonic() < deadline, "no checkpoint before the end"
        time.sleep(0.05)
    (pickle,) = sweep_folder(log_dir).glob(".submitit/*/*_submitted.pkl")  # named after the job
    job = pickle.name.removesuffix("_submitted.pkl")
    assert squeue(job)[0] == "RUNNING"
    return job


def test_a_job_that_slurm_kills_outright_ends_the_sweep_as_failed_instead_of_hanging_it(slurm, tmp_path):
    # Killed, the job writes no result file; without accounting only squeue can tell that it ended.
    sweep = subprocess.Popen(
        [*TRAIN, "-m", *C1, "epochs=100000", f"paths.log_dir={tmp_path}", "hydra/launcher=slurm"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        job = wait_for_checkpoint(sweep, tmp_path, time.monotonic() + 120)
        subprocess.run(["scancel", "--signal=KILL", "--full", job], check=True)
        _, err = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 1, err[-3000:]
    assert f"Job {job} (task: 0)" in err and "has not produced any output (state: CANCELLED)" in err
    assert "accounting storage is disabled" not in err
    # The step may get a SIGTERM before the kill: the run then says it was interrupted, never done.
    record = sweep_folder(tmp_path) / "0" / "metrics.json"
    assert not record.exists() or json.loads(record.read_text())["status"] == "interrupted"


def test_ddp_with_processes_started_by_srun_trains_like_one_process(slurm, tmp_path):
    # The whole training set is every step's batch (C1: 1000 points), so two processes averaging the
    # gradients of 500 each take the steps one process takes; validation and test metrics are
    # computed over the whole split (tests/test_distributed.py). Only float rounding differs.
    lesson = (*C1, "epochs=30")
    two_processes = (
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        f"paths.log_dir={tmp_path / 'ddp'}",
        "hydra.verbose=lightning",  # Lightning's own line that names the processes it started with
    )
    srun = subprocess.run(
        ["srun", "-N1", "--ntasks-per-node=2", "--cpus-per-task=1", *TRAIN, *lesson, *two_processes],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert srun.returncode == 0, srun.stderr[-3000:]
    assert "Starting with 2 processes" in srun.stdout + srun.stderr
    single = train(*lesson, f"paths.log_dir={tmp_path / 'single'}")
    assert single.returncode == 0, single.stderr[-3000:]

    # Both tasks ran the Hydra app, and agreed on one run folder: slurm-<job id>.<step>.
    (ddp_run,) = (tmp_path / "ddp" / "logistic_regression").iterdir()
    assert ddp_run.name.startswith("slurm-") and ddp_run.name.endswith(".0")
    (single_run,) = (tmp_path / "single" / "logistic_regression").iterdir()
    ddp, one = metrics(ddp_run), metrics(single_run)
    assert ddp["status"] == one["status"] == "completed" and ddp["steps"] == one["steps"] == 30
    assert ddp["epochs"] == one["epochs"]
    assert ddp["metrics"].keys() == one["metrics"].keys()
    evaluated = [name for name in one["metrics"] if name.startswith(("val/", "test/"))]
    assert len(evaluated) == 4  # train/* are rank 0's own half of the batch under DDP (README)
    for name in evaluated:
        assert ddp["metrics"][name] == pytest.approx(one["metrics"][name], rel=1e-5), name
    ddp_weights, one_weights = weights(ddp_run), weights(single_run)
    assert ddp_weights.keys() == one_weights.keys()
    for name in one_weights:
        torch.testing.assert_close(ddp_weights[name], one_weights[name], rtol=1e-5, atol=1e-7)


def scalars(events_file: Path, tag: str) -> dict[int, float]:
    """One events file's curve, step by step (empty when the file has none of that tag)."""
    accumulator = EventAccumulator(str(events_file), size_guidance={"scalars": 0})
    accumulator.Reload()
    if tag not in accumulator.Tags()["scalars"]:
        return {}
    return {event.step: event.value for event in accumulator.Scalars(tag)}


@pytest.mark.parametrize(
    ("on_slurm", "here"),
    [
        ((), ()),
        # Two tasks that srun starts, against two processes forked here: every process must stop at the
        # same epoch, and rank 0 alone requeues.
        (("trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"), ("trainer=ddp_cpu",)),
    ],
    ids=["one-process", "ddp"],
)
def test_a_job_signalled_before_its_time_limit_is_requeued_and_ends_as_if_never_stopped(
    slurm, tmp_path, on_slurm, here
):
    lesson = (*C1, "epochs=400")
    sweep = subprocess.Popen(
        [*TRAIN, "-m", *lesson, *on_slurm, f"paths.log_dir={tmp_path / 'slurm'}", "hydra/launcher=slurm"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Once training is under way, SLURM's warning signal, as submitit asks for it `signal_delay_s`
        # before the time limit.
        deadline = time.monotonic() + 180
        job = wait_for_checkpoint(sweep, tmp_path / "slurm", deadline)
        subprocess.run(["scancel", "--signal=USR2", job], check=True)
        # SLURM holds a requeued job for a while (BeginTime); start it again sooner, though not within
        # the second its first run ended: slurmd refuses a credential issued in the second it revoked
        # the job's old one ("Job credential revoked"), and the restart fails.
        requeued, held_since = False, None
        while sweep.poll() is None and time.monotonic() < deadline:
            if squeue(job) == ["PENDING", "BeginTime"]:
                held_since = held_since or time.monotonic()
                if time.monotonic() - held_since > 2:
                    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
                    requeued, held_since = True, None
            time.sleep(0.2)
        try:
            _, err = sweep.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(f"the sweep did not end (squeue: {squeue(job)}){job_logs(tmp_path / 'slurm')}")
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 0, err[-3000:] + job_logs(tmp_path / "slurm")
    assert requeued

    # One run folder, completed, its metrics.json and table written once, by the attempt that finished.
    folder = sweep_folder(tmp_path / "slurm")
    (run,) = [path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")]
    record = metrics(run)
    # 400 full-batch steps (the notes' epochs) in 20 Lightning epochs of 20, each ending in a checkpoint.
    assert record["status"] == "completed" and record["steps"] == 400 and record["epochs"] == 20
    assert [row["status"] for row in rows(folder)] == ["completed"]
    log = (run / "train.log").read_text()
    assert "SLURM sent SIGUSR2 (time limit near): stopping after epoch" in log
    assert f"SLURM requeued this job (restart 1): continuing from {run / 'checkpoints' / 'last.ckpt'}" in log
    stopped = log.split("stopping after epoch ")[1].split()
    stopped_epoch, stopped_step = int(stopped[0]), int(stopped[2].rstrip(")"))
    assert stopped[1] == "(step" and 0 < stopped_epoch < 20 and stopped_step == 20 * stopped_epoch

    # TensorBoard: the first attempt's curves end at the signal, the second's go on from there.
    attempts = [
        (steps, scalars(path, "val/loss"))
        for path in sorted(run.glob("events.out.tfevents.*"))
        if (steps := scalars(path, "train/loss"))
    ]
    assert len(attempts) == 2
    (first, first_val), (second, second_val) = attempts

    # The same run, never interrupted: same curves, same weights, same metrics. It logs every step, so
    # that its curve holds every step either attempt may have logged.
    whole = train("-m", *lesson, *here, "trainer.log_every_n_steps=1", f"paths.log_dir={tmp_path / 'here'}")
    assert whole.returncode == 0, whole.stderr[-3000:]
    whole_run = sweep_folder(tmp_path / "here") / "0"
    (whole_events,) = [p for p in whole_run.glob("events.out.tfevents.*") if scalars(p, "train/loss")]
    every_step, whole_val = scalars(whole_events, "train/loss"), scalars(whole_events, "val/loss")
    assert sorted(every_step) == list(range(400))
    # Logged every 2 steps (400 steps / 200), a step's loss at that step's number; validated at each
    # Lightning epoch's end (steps 19, 39, ...).
    assert first == {step: every_step[step] for step in range(1, stopped_step, 2)}
    assert first_val == {step: value for step, value in whole_val.items() if step < stopped_step}
    # Resumed from that epoch's end, it logs the uninterrupted run's values at the same steps, none lost.
    assert second_val == {step: value for step, value in whole_val.items() if step >= stopped_step}
    assert second == {step: every_step[step] for step in range(stopped_step + 1, 400, 2)}
    assert sorted([*first, *second]) == list(range(1, 400, 2))
    assert record["metrics"] == metrics(whole_run)["metrics"]
    requeued_weights, whole_weights = weights(run), weights(whole_run)
    assert all(torch.equal(requeued_weights[name], whole_weights[name]) for name in whole_weights)
