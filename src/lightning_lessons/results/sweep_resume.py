"""Sweeps that continue where they stopped: `resume=latest` (or `resume=<sweep folder>`) on a `-m`
sweep or an Optuna search (docs/resume-sweeps.md).

A sweep's folder keeps what it was started with (`sweep.yaml`, written by `SweepRecord`), so that a
resume asking for another sweep is refused (`cli.sweep_resume_arguments`). The resumed sweep runs its
jobs again into the same folders, and each job looks at its own (`resumed_job`): a finished one is kept
as it is, an interrupted or killed one continues from its last.ckpt, a failed one runs anew. An Optuna
search keeps its study in the folder (`optuna.db`), and a resume runs only the trials it still lacks
(`resumed_search`)."""

import shutil
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from lightning_lessons.config import in_sweep
from lightning_lessons.errors import ResumeError, UserError
from lightning_lessons.results.checkpoints import checkpoint_to_resume
from lightning_lessons.results.runs import LOCK, MULTIRUNS, RESUMING, Run, saved_yaml
from lightning_lessons.results.sweeps import ran_with, read_jobs

RECORD = "sweep.yaml"
# Hydra settings a resume sets itself: never kept from the sweep's first start.
RESUME_SETS = ("hydra.mode", "hydra.sweep.dir", "hydra.sweep.subdir")


class SweepRecord(Callback):
    """Hydra callback (conf/hydra/default.yaml): a sweep's folder is locked while the sweep runs (a
    resume of a running sweep is refused), and keeps the overrides and sweeper it was started with."""

    def __init__(self) -> None:
        self.held = ExitStack()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(config.hydra.sweep.dir)
        self.held.enter_context(Run(folder).lock())  # an flock: a killed sweep leaves none behind
        if not (folder / RECORD).is_file():  # the first start; a resume keeps it
            record = {
                "overrides": list(config.hydra.overrides.task),
                "hydra_overrides": list(config.hydra.overrides.hydra),
                "sweeper": config.hydra.sweeper,
            }
            OmegaConf.save(OmegaConf.create(record), folder / RECORD)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.held.close()

    def __getstate__(self) -> dict[str, Any]:
        # Launchers that start jobs elsewhere (submitit) pickle the callbacks: the lock stays here.
        return {"held": ExitStack()}


def is_sweep(folder: Path) -> bool:
    return any((folder / name).is_file() for name in (RECORD, "multirun.yaml"))


def latest_sweep(log_dir: str | Path, lesson: str) -> Path:
    """The lesson's sweep started last, among those that can be resumed."""
    records = sorted(
        (Path(log_dir) / lesson / MULTIRUNS).glob(f"*/{RECORD}"), key=lambda r: r.stat().st_mtime
    )
    if not records:
        raise ResumeError(
            f"nothing to resume: no sweep under {Path(log_dir) / lesson / MULTIRUNS} records how it started "
            f"({RECORD}). Start one with -m, without resume="
        )
    return records[-1].parent


def sweep_record(folder: Path) -> DictConfig:
    """What the sweep in `folder` was started with, or why it cannot be resumed."""
    if not (folder / RECORD).is_file():
        raise ResumeError(
            f"{folder} is not a sweep that can be resumed: it has no {RECORD} (a sweep writes one when it "
            "starts). A single run, or one job of a sweep, resumes without -m: resume=<its folder>"
        )
    return saved_yaml(folder / RECORD)


def sweep_changes(record: DictConfig, overrides: list[str], sweeper: DictConfig) -> list[str]:
    """`key (then -> now)` for each override and sweeper setting that differs from the sweep's start."""

    def settings(typed: list[str], node: DictConfig) -> dict[str, Any]:
        pairs = dict(override.partition("=")[::2] for override in typed if override != RESUMING)
        return pairs | {f"hydra.sweeper.{key}": value for key, value in OmegaConf.to_container(node).items()}

    then = settings(list(record.overrides), record.sweeper)
    now = settings(overrides, sweeper)
    changed = [key for key in then | now if then.get(key) != now.get(key)]
    if "hydra.sweeper._target_" in changed:  # another kind of sweep: its settings need no list
        changed = [key for key in changed if key == "hydra.sweeper._target_" or not key.startswith("hydra.")]
    return [f"{key} ({then.get(key)} -> {now.get(key)})" for key in changed]


def resumed_search(folder: Path, sweeper: DictConfig) -> list[str]:
    """Hydra overrides that continue the Optuna search in `folder`: its trials that a kill left running
    are marked failed and queued again with their parameters (Optuna's RetryFailedTrialCallback, the
    retry runs first and continues the killed job's folder); only the trials it lacks run, in the job
    folders after those of its finished trials. The sampler's seed moves on by the trials so far: the
    same seed would draw the first trials' parameters again."""
    import optuna  # the `sweep` extra, as the search itself needs it
    from optuna.storages import RetryFailedTrialCallback
    from optuna.trial import TrialState

    storage, n_trials = sweeper.storage, sweeper.n_trials
    if storage is None:
        raise ResumeError(
            f"the search in {folder} kept its study in memory (hydra.sweeper.storage=null): it is gone with "
            "the process, so the search cannot be resumed"
        )
    with warnings.catch_warnings():  # Optuna marks its retry callback experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            study = optuna.load_study(study_name=sweeper.study_name, storage=storage)
        except KeyError:  # stopped before its first trial
            return [f"hydra.sweeper.n_trials={n_trials}"]
        for killed in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            study.tell(killed.number, state=TrialState.FAIL)
            RetryFailedTrialCallback()(study, study.trials[killed.number])
        # A trial and its retries are one trial of the search; the newest attempt says where it stands.
        newest: dict[int, optuna.trial.FrozenTrial] = {}
        for trial in study.trials:
            first = RetryFailedTrialCallback.retried_trial_number(trial)
            newest[trial.number if first is None else first] = trial
    trials = [newest[number] for number in sorted(newest)]
    done = sum(trial.state.is_finished() for trial in trials)
    jobs = {job.folder.name: job for job in read_jobs(folder)}
    for number, trial in enumerate(trials):  # job folder n holds the search's trial n
        job = jobs.get(str(number))
        if trial.state.is_finished() != (number < done) or (job and not ran_with(job, trial.params)):
            raise ResumeError(
                f"the study in {storage} does not match the jobs in {folder} (trial {trial.number}, job "
                f"{number}): a search resumes with its study in its own folder, as it started"
            )
    seed = OmegaConf.select(sweeper, "sampler.seed")
    return [
        f"hydra.sweeper.n_trials={max(0, n_trials - done)}",
        f"hydra.sweep.subdir='${{add:${{hydra.job.num}},{done}}}'",  # quoted, for Hydra's grammar
        *([f"hydra.sweeper.sampler.seed={seed + len(study.trials)}"] if seed is not None else []),
    ]


def resumed_job(cfg: DictConfig, run: Run) -> dict[str, Any] | None:
    """A job of a resumed sweep, by what its folder holds. Finished: its record, and it is not run again.
    Interrupted or killed with a last.ckpt: None, and it continues from there (`ckpt_path=last`).
    Failed, or stopped with no last.ckpt to continue from: None, and it runs anew in an emptied folder."""
    if cfg.ckpt_path != "last" or not in_sweep():
        return None
    record = run.metrics() or {}
    if record.get("status") == "completed":
        cfg.ckpt_path = None  # its config as it ran (Hydra has just written it anew, unresolved)
        run.save_config(cfg)
        print(f"job {run.folder.name}: finished before the sweep was resumed; kept, not run again")
        return record
    if record.get("status") != "failed" and run.last.is_file():
        try:
            checkpoint_to_resume(cfg.ckpt_path, run, cfg.trainer.max_epochs)
            print(f"job {run.folder.name}: continues from {run.last}")
            return None
        except UserError:  # killed after its last epoch, while testing: nothing left to continue
            pass
    for path in run.folder.iterdir():  # nothing of the earlier attempt stays, but what Hydra just wrote
        if path.name in (".hydra", LOCK) or path.suffix == ".log":
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    cfg.ckpt_path = None
    return None
