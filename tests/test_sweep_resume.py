"""Sweeps and searches killed with kill -9 mid-job, then resumed (docs/resume-sweeps.md): finished jobs
are kept as they are, the killed one continues from its last.ckpt, a failed one runs again; a search
runs only the trials it lacks, and each ends with one table over all of its jobs."""

import os
import signal
from pathlib import Path

import optuna
import pytest
from conftest import KILLER, KILLER_ENV, cli, scalar_values
from omegaconf import OmegaConf
from test_sweeps import printed_table, results, the_sweep

from lightning_lessons.cli import resume_arguments
from lightning_lessons.errors import ResumeError
from lightning_lessons.results.checkpoints import read_checkpoint
from lightning_lessons.results.runs import Run

pytestmark = pytest.mark.heavy  # real sweeps, each killed and resumed in processes of its own

# 1,000 points in batches of 100: 10 steps an epoch, so a kill at step 15 comes after epoch 1's last.ckpt.
TINY = ("epochs=3", "data.batch_size=100", KILLER)
GRID = ("-m", "lesson=logistic_regression", "seed=1,2,3", *TINY)
SEARCH = ("hparams_search=logistic_regression", "hydra.sweeper.n_trials=3", *TINY)
KILLED = -signal.SIGKILL  # how subprocess reports a process that kill -9 ended


def outputs(job: Path) -> dict[str, bytes]:
    """What a job's training wrote: its record, checkpoints and event files (not Hydra's .hydra/)."""
    paths = [*job.glob("metrics.json"), *job.glob("checkpoints/*"), *job.glob("events.out.tfevents.*")]
    return {path.name: path.read_bytes() for path in paths}


def test_a_killed_grid_sweep_resumes_keeping_finished_jobs_continuing_killed_and_rerunning_failed(tmp_path):
    env, log_dir = {**os.environ, **KILLER_ENV}, f"paths.log_dir={tmp_path}"
    # Job 0 fails, job 1 finishes, job 2 is killed -9 at step 15: the whole sweep dies with it.
    stopped = cli(*GRID, log_dir, env={**env, "KILL_AT_STEP": "15", "KILL_IN_JOB": "2", "FAIL_IN_JOB": "0"})
    assert stopped.returncode == KILLED, stopped.stderr[-3000:]
    folder = the_sweep(tmp_path)
    failed, finished, killed = (Run(folder / job) for job in "012")
    assert failed.metrics()["status"] == "failed" and failed.error_path.is_file()
    assert finished.metrics()["status"] == "completed"
    assert killed.metrics() is None and read_checkpoint(killed.last, training=True)["global_step"] == 10
    kept, before_kill = outputs(finished.folder), outputs(killed.folder)

    # A resume that asks for another sweep is refused in one line and changes nothing.
    before = {path: path.stat().st_mtime_ns for path in folder.rglob("*")}
    other = cli(*[a.replace("seed=1,2,3", "seed=1,2,4") for a in GRID], log_dir, "resume=latest", env=env)
    assert (
        other.returncode == 2 and other.stderr.startswith("error: ") and len(other.stderr.splitlines()) == 1
    )
    assert (
        f"{folder} was started as another sweep: a resume cannot change seed (1,2,3 -> 1,2,4)" in other.stderr
    )
    assert {path: path.stat().st_mtime_ns for path in folder.rglob("*")} == before
    with Run(folder).lock(), pytest.raises(ResumeError, match="is running now"):
        resume_arguments([*GRID, log_dir, "resume=latest"])  # as while the sweep runs

    resumed = cli(*GRID, log_dir, "resume=latest", env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert outputs(finished.folder) == kept  # not run again
    # Continued by the run's own resume, from epoch 2: its first events kept, each epoch validated once.
    assert (
        "resumed" in OmegaConf.load(killed.run_info_path)
        and before_kill.keys() <= outputs(killed.folder).keys()
    )
    assert len(scalar_values(killed.folder, "val/loss")) == 3
    assert not failed.error_path.is_file() and len(scalar_values(failed.folder, "val/loss")) == 3  # anew
    assert [row["status"] for row in results(folder)] == ["completed"] * 3
    header, *rows = printed_table(resumed.stdout, folder)
    assert header.split()[:3] == ["job", "status", "seed"]
    assert [row.split()[:3] for row in rows] == [
        ["0", "completed", "1"],
        ["1", "completed", "2"],
        ["2", "completed", "3"],
    ]
    assert all(Run(folder / job).metrics()["epochs"] == 3 for job in "012")


def test_a_killed_optuna_search_resumes_with_its_study_and_ends_with_n_trials(tmp_path):
    env, log_dir = {**os.environ, **KILLER_ENV}, f"paths.log_dir={tmp_path}"
    stopped = cli(*SEARCH, log_dir, env={**env, "KILL_AT_STEP": "15", "KILL_IN_JOB": "1"})
    assert stopped.returncode == KILLED, stopped.stderr[-3000:]
    folder = the_sweep(tmp_path)
    storage = f"sqlite:///{folder}/optuna.db"  # the study lives in the sweep's folder
    study = optuna.load_study(study_name="logistic_regression", storage=storage)
    first, killed = study.trials
    assert (first.state, killed.state) == (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING)
    kept = outputs(folder / "0")
    with pytest.raises(ResumeError, match=r"cannot change hydra.sweeper.n_trials \(3 -> 5\)"):
        resume_arguments([f"resume={folder}", "hydra.sweeper.n_trials=5"])  # another search

    resumed = cli(f"resume={folder}", env=env)  # the short form: the search's own command line
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert outputs(folder / "0") == kept  # the finished trial is not run again
    study = optuna.load_study(study_name="logistic_regression", storage=storage)
    complete = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 3 and complete[0].value == first.value  # n_trials in all
    assert [trial.params for trial in complete[:2]] == [first.params, killed.params]  # the killed one, again
    assert complete[2].params != first.params  # a new trial, not the first one drawn again
    rows = results(folder)
    assert [row["job"] for row in rows] == ["0", "1", "2"] and {row["status"] for row in rows} == {
        "completed"
    }
    assert "resumed" in OmegaConf.load(Run(folder / "1").run_info_path)  # continued from its last.ckpt
    best = max(complete, key=lambda trial: trial.value)
    assert OmegaConf.load(folder / "optimization_results.yaml").best_value == best.value
    assert f"best trial (maximize val/acc): val/acc={best.value:.6g} (job " in resumed.stdout
