"""The end of a multirun (grid or Optuna): one table of every job's overrides, status and final
metrics, printed and written to `results.csv`. A failed job is a row with its error, and makes the
command exit non-zero once the table is out, so scripts and CI notice."""

import csv
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from lightning_lessons.config import SWEEP_STAMP, stamp
from lightning_lessons.results.runs import RESUMING, Run
from lightning_lessons.results.tables import aligned

RESULTS_FILE = "results.csv"
SQLITE = "sqlite:///"


@dataclass
class Job:
    """One job of a sweep, read back from its folder."""

    folder: Path
    overrides: dict[str, str]
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""


def read_job(run: Run) -> Job:
    """A job from its `.hydra/overrides.yaml` and `metrics.json` (a job killed before the end has none)."""
    overrides = dict(
        override.partition("=")[::2] for override in run.saved_overrides() if override != RESUMING
    )
    record = run.metrics()
    if record is None:
        return Job(run.folder, overrides, "failed", error="no metrics.json: the job did not finish")
    return Job(run.folder, overrides, record["status"], record.get("metrics", {}), record.get("error", ""))


def read_jobs(sweep_dir: Path) -> list[Job]:
    """Every job folder of a sweep, in job order (folders are named by job number)."""
    runs = [Run(path.parents[1]) for path in sweep_dir.glob("*/.hydra/overrides.yaml")]
    return [read_job(run) for run in sorted(runs, key=lambda run: (len(run.folder.name), run.folder.name))]


def _override_keys(jobs: list[Job]) -> list[str]:
    return list(dict.fromkeys(key for job in jobs for key in job.overrides))


def _metric_names(jobs: list[Job]) -> list[str]:
    return sorted({name for job in jobs for name in job.metrics})


def write_csv(path: Path, jobs: list[Job]) -> None:
    """Columns: job, status, each override key, each final metric, error (full precision, for analysis)."""
    columns = ["job", "status", *_override_keys(jobs), *_metric_names(jobs), "error"]
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        for job in jobs:
            row = {"job": job.folder.name, "status": job.status, **job.overrides, **job.metrics}
            writer.writerow({**row, "error": job.error})


def table_text(jobs: list[Job]) -> str:
    """The table as aligned text; overrides every job shares go on one line above it, not in columns."""
    keys = _override_keys(jobs)
    shared = [key for key in keys if len({job.overrides.get(key) for job in jobs}) == 1]
    varying = [key for key in keys if key not in shared]
    metrics = _metric_names(jobs)
    errors = any(job.error for job in jobs)
    header = ["job", "status", *varying, *metrics, *(["error"] if errors else [])]
    lines = [
        [job.folder.name, job.status]
        + [job.overrides.get(key, "") for key in varying]
        + [f"{job.metrics[name]:.6g}" if name in job.metrics else "" for name in metrics]
        + ([job.error] if errors else [])
        for job in jobs
    ]
    text = ["every job: " + " ".join(f"{key}={jobs[0].overrides[key]}" for key in shared)] if shared else []
    return "\n".join(text + aligned([header, *lines]))


def ran_with(job: Job, params: dict[str, Any]) -> bool:
    """Whether the job ran with an Optuna trial's parameters (as its overrides spell them)."""
    return all(job.overrides.get(key) == str(value) for key, value in params.items())


def best_trial_text(sweep_dir: Path, jobs: list[Job], monitor: str, direction: Any) -> str | None:
    """An Optuna search's best trial (from its `optimization_results.yaml`): value, overrides, folder."""
    results_path = sweep_dir / "optimization_results.yaml"
    if not results_path.is_file():
        return None
    results = OmegaConf.to_container(OmegaConf.load(results_path))
    if "best_params" not in results:  # a multi-objective search keeps its Pareto front there instead
        return f"best trials: {results_path}"
    params = results["best_params"]
    best = next((job for job in jobs if ran_with(job, params)), None)
    overrides = " ".join(f"{key}={value}" for key, value in params.items())
    # In a continued study (sqlite storage) the best trial may be one of an earlier sweep's jobs.
    where = f" (job {best.folder.name})" if best is not None else " (an earlier sweep of this study)"
    return f"best trial ({direction} {monitor}): {monitor}={results['best_value']:.6g}{where}\n  {overrides}"


class SweepTable(Callback):
    """Hydra callback (conf/hydra/default.yaml): the table of a finished multirun."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        os.environ.setdefault(SWEEP_STAMP, stamp())  # inherited by jobs a launcher starts elsewhere
        # An Optuna study kept in sqlite (`hydra.sweeper.storage=sqlite:///logs/optuna.db`) fails with
        # "unable to open database file" when its folder does not exist yet, as on a fresh clone.
        storage = config.hydra.sweeper.get("storage")
        if isinstance(storage, str) and storage.startswith(SQLITE):
            Path(storage.removeprefix(SQLITE)).parent.mkdir(parents=True, exist_ok=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = read_jobs(sweep_dir)
        if not jobs:
            return
        write_csv(sweep_dir / RESULTS_FILE, jobs)
        failed = [job for job in jobs if job.status != "completed"]
        print(f"\nsweep {sweep_dir}: {len(jobs)} jobs, {len(failed)} failed", flush=True)
        print(table_text(jobs))
        print(f"table: {sweep_dir / RESULTS_FILE}")
        best = best_trial_text(sweep_dir, jobs, config.monitor, config.hydra.sweeper.get("direction"))
        if best:
            print(best)
        if failed:
            names = ", ".join(job.folder.name for job in failed)
            print(f"error: job(s) {names} failed; each one's traceback is in its error.txt", file=sys.stderr)
            raise SystemExit(1)  # after the table: a sweep with a failed job is not a success
