"""Train a lesson: `python -m lightning_lessons.train lesson=<name> [key=value ...]`.

The flow, top to bottom: check the command line (`main`), build data, model and Trainer from the
config (`build`), fit, test the best checkpoint, record the results (`train`)."""

import math
import shutil
import sys
from contextlib import nullcontext, suppress
from pathlib import Path
from typing import Any

import hydra
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from lightning_lessons.callbacks.interrupt import InterruptCheckpoint, signals_reach_every_process
from lightning_lessons.cli import check_command_line, resume_arguments, resumed_folder, run_dir_problem
from lightning_lessons.config import CONF_DIR, CONFIG_NAME, in_sweep, register_resolvers
from lightning_lessons.errors import TrainingDiverged, UserError, fail, user_error
from lightning_lessons.experiment import build, leave_process_group
from lightning_lessons.results.checkpoints import checkpoint_to_resume, load_weights, read_checkpoint
from lightning_lessons.results.console import console_recorded
from lightning_lessons.results.runinfo import print_config_tree, save_run_info
from lightning_lessons.results.runs import RESUMING, Run
from lightning_lessons.results.summary import finish_run, job_line, record_failure, record_interruption
from lightning_lessons.results.sweep_resume import resumed_job
from lightning_lessons.results.torchrun import continued_checkpoint
from lightning_lessons.slurm.requeue import requeue_if_stopped, requeued_checkpoint


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit the lesson the config describes, test its best checkpoint, and record the results. The main
    process holds the run folder's lock throughout: two runs never write into one folder."""
    run = Run(Path(cfg.paths.output_dir))
    main_process = rank_zero_only.rank == 0
    with run.lock() if main_process else nullcontext():
        try:  # a job of a resumed sweep that finished before is kept, not run again
            return resumed_job(cfg, run) or fit_and_record(cfg, run)
        except Exception as error:
            mistake = user_error(error)
            if main_process and mistake is not None and not isinstance(mistake, TrainingDiverged):
                undo_start(cfg, run)
            raise


# A resumed run's files as they were before this process started (`main`): a resume that fails before
# it trains puts them back, so a failed command leaves the run as it was.
RESUMED_FILES: dict[str, bytes] | None = None


def undo_start(cfg: DictConfig, run: Run) -> None:
    """Leave no trace of a start that failed before training: a resumed run gets its files back, a new
    single run's folder goes (a sweep's failed job stays, for the sweep's table)."""
    if cfg.ckpt_path == "last":
        if RESUMED_FILES is not None:
            run.restore(RESUMED_FILES)
    elif run.checkpoint() is None and not in_sweep():
        shutil.rmtree(run.folder, ignore_errors=True)
        lesson_folder = Path(cfg.paths.log_dir) / cfg.lesson_name
        if run.folder.parent.resolve() == lesson_folder.resolve():
            with suppress(OSError):  # the lesson's folder too, when this was its only run
                lesson_folder.rmdir()


def fit_and_record(cfg: DictConfig, run: Run) -> dict[str, Any]:
    run.save_config(cfg)
    resumed = checkpoint_to_resume(cfg.ckpt_path, run, cfg.trainer.max_epochs)
    ckpt_path = resumed or requeued_checkpoint(run.last) or continued_checkpoint(run.last)
    experiment = build(cfg)
    datamodule, model, trainer = experiment.datamodule, experiment.model, experiment.trainer
    if resumed:  # weights that do not fit this network: one line, not Lightning's traceback
        load_weights(model, read_checkpoint(resumed)["state_dict"], resumed)
    if trainer.is_global_zero:
        save_run_info(cfg, run)
        if cfg.print_config:
            print_config_tree(cfg)
        print(f"{cfg.lesson_name} ({cfg.code}), seed {cfg.seed}: {cfg.description}", flush=True)

    try:
        with signals_reach_every_process(trainer):
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    except SystemExit:  # how Lightning ends a fit on Ctrl+C or SIGTERM
        signum = next((c.signum for c in trainer.callbacks if isinstance(c, InterruptCheckpoint)), None)
        if signum is None:
            raise
        record_interruption(cfg, trainer, run, signum)
        raise SystemExit(128 + signum) from None  # what shells expect: 130 for SIGINT, 143 for SIGTERM
    requeue_if_stopped(trainer)  # stopped for SLURM's time-limit signal: the job runs again from here

    metrics = {name: float(value) for name, value in sorted(trainer.callback_metrics.items())}
    checkpoints = trainer.checkpoint_callback
    if cfg.test and datamodule.has_split("test"):
        best = checkpoints.best_model_path if checkpoints is not None else ""
        for results in trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=False):
            metrics.update({name: float(value) for name, value in sorted(results.items())})
    result = finish_run(cfg, trainer, model, datamodule, metrics, run)
    leave_process_group()
    return result


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG_NAME)
def _hydra_main(cfg: DictConfig) -> float | None:
    # The return value is what a Hydra sweeper (e.g. Optuna) optimises: the monitored metric. None,
    # never NaN, for a failed or diverged run: the Optuna sweeper records a trial without a value as
    # failed and goes on, while a NaN stops the whole search (it tells Optuna "failed" with the value).
    run, main_process = Run(Path(cfg.paths.output_dir)), rank_zero_only.rank == 0
    with console_recorded(run.log_path, echo=not in_sweep()) if main_process else nullcontext():
        value = train_or_explain(cfg, run)
    if in_sweep() and main_process:
        print(job_line(run, cfg.monitor), flush=True)
    return value


def train_or_explain(cfg: DictConfig, run: Run) -> float | None:
    try:
        value = train(cfg)["metrics"].get(cfg.monitor)
        return value if value is not None and math.isfinite(value) else None
    except Exception as error:
        mistake = user_error(error)
        if in_sweep():  # Hydra stops a sweep at its first failed job: record this one, let the others run
            message = str(mistake) if mistake is not None else f"{type(error).__name__}: {error}"
            record_failure(cfg, error, message, run)  # the sweep's table shows it, and exits non-zero
            return None
        if mistake is None:
            raise
        fail(str(mistake))  # what to fix, not a stack trace


def main() -> None:
    """Check the command line (and resolve a resume) before Hydra makes a run folder."""
    register_resolvers()
    argv = sys.argv[1:]
    global RESUMED_FILES
    try:
        argv = resume_arguments(argv)  # the resumed run's own overrides, the new ones on top
        problem = check_command_line(argv) or run_dir_problem(argv)
    except UserError as error:
        problem = str(error)
    if problem:
        fail(problem)
    if RESUMING in argv and resumed_folder(argv):  # a single run's (a sweep's jobs look at their own)
        RESUMED_FILES = Run(Path(resumed_folder(argv))).files()
    sys.argv[1:] = argv  # Hydra reads the command line itself
    _hydra_main()


if __name__ == "__main__":
    main()
