"""Train a lesson: `python -m lightning_lessons.train lesson=<name> [key=value ...]`.

The flow, top to bottom: check the command line (`main`), build data, model and Trainer from the
config (`build`), fit, test the best checkpoint, record the results (`train`)."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.utilities.model_summary import ModelSummary
from omegaconf import DictConfig

from lightning_lessons.config import CONF_DIR, CONFIG_NAME, check_command_line, register_resolvers
from lightning_lessons.errors import ConfigError, UserError, fail, user_error
from lightning_lessons.engine.resume import checkpoint_to_resume, resume_arguments, without_resume
from lightning_lessons.engine.trainer import check_launch, close_process_group
from lightning_lessons.engine.workarounds import prepare_process, recover_fit_state
from lightning_lessons.results.runinfo import print_config_tree, save_run_info
from lightning_lessons.results.runs import Run
from lightning_lessons.results.summary import finish_run, record_failure
from lightning_lessons.schema import check_config
from lightning_lessons.slurm.requeue import requeue_if_stopped, requeued_checkpoint


@dataclass
class Experiment:
    """The three objects a lesson's config describes, built and ready to fit."""

    datamodule: L.LightningDataModule
    model: L.LightningModule
    trainer: L.Trainer


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Build each entry of a `callbacks`/`logger` group; an entry set to null is switched off."""
    return [instantiate(node) for node in (group or {}).values() if node is not None]


def build(cfg: DictConfig) -> Experiment:
    """Check the config, seed everything, and build data, model and Trainer from their `_target_`s."""
    problems = check_config(cfg)
    if problems:
        raise ConfigError("\n".join(problems))
    prepare_process()
    if cfg.trainer.get("accelerator") in ("gpu", "cuda") and torch.cuda.device_count() == 0:
        raise ConfigError(
            f"trainer.accelerator={cfg.trainer.accelerator} asks for a CUDA GPU and this machine has none: "
            "leave the default trainer (accelerator=auto takes a GPU when there is one) or use trainer=cpu"
        )
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    if cfg.data_fraction < 1:
        datamodule.keep_fraction(cfg.data_fraction)
    model = instantiate(cfg.model)
    callbacks = instantiate_all(cfg.get("callbacks"))
    bar = any(isinstance(callback, ProgressBar) for callback in callbacks)  # progress=null: no bar at all
    loggers = instantiate_all(cfg.get("logger")) or False
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, enable_progress_bar=bar)
    return Experiment(datamodule, model, trainer)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit the lesson the config describes, test its best checkpoint, and record the results."""
    run = Run(Path(cfg.paths.output_dir))
    run.save_config(cfg)
    ckpt_path = checkpoint_to_resume(cfg, run) or requeued_checkpoint(run.last)
    experiment = build(cfg)
    datamodule, model, trainer = experiment.datamodule, experiment.model, experiment.trainer
    check_launch(trainer)
    if trainer.is_global_zero:
        save_run_info(cfg, run)
        if cfg.print_config:
            print_config_tree(cfg)
        if not cfg.trainer.get("enable_model_summary"):
            print(ModelSummary(model, max_depth=1), flush=True)

    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    requeue_if_stopped(trainer)  # stopped for SLURM's time-limit signal: the job runs again from here
    checkpoints = trainer.checkpoint_callback
    if trainer.global_step == 0 and checkpoints is not None and checkpoints.dirpath:
        recover_fit_state(trainer, Path(checkpoints.dirpath) / "last.ckpt")  # ddp_fork/ddp_spawn

    metrics = {name: float(value) for name, value in sorted(trainer.callback_metrics.items())}
    if cfg.test and datamodule.has_split("test"):
        best = checkpoints.best_model_path if checkpoints is not None else ""
        tested = trainer.test(
            model, datamodule=datamodule, ckpt_path=best or None, verbose=False, weights_only=False
        )
        for results in tested:
            metrics.update({name: float(value) for name, value in sorted(results.items())})
    result = finish_run(cfg, trainer, model, datamodule, metrics, run)
    close_process_group()
    return result


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG_NAME)
def _hydra_main(cfg: DictConfig) -> float | None:
    # The return value is what a Hydra sweeper (e.g. Optuna) optimises: the monitored metric. None,
    # never NaN, for a failed or diverged run: the Optuna sweeper records a trial without a value as
    # failed and goes on, while a NaN stops the whole search (it tells Optuna "failed" with the value).
    try:
        value = train(cfg)["metrics"].get(cfg.monitor)
        return value if value is not None and math.isfinite(value) else None
    except Exception as error:
        mistake = user_error(error)
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            # Hydra stops a sweep at its first failed job; record this one and let the others run.
            # The sweep's table (results/sweeps.py) shows the failure and ends with a non-zero exit.
            message = str(mistake) if mistake is not None else f"{type(error).__name__}: {error}"
            record_failure(cfg, error, message, Run(Path(cfg.paths.output_dir)))
            return None
        if mistake is None:
            raise
        fail(str(mistake))  # what to fix, not a stack trace


def main() -> None:
    """Check the command line (and resolve a resume) before Hydra makes a run folder."""
    register_resolvers()
    argv = sys.argv[1:]
    try:
        # The new overrides first, so a typo is explained as in any run, then the resumed run's.
        problem = check_command_line(without_resume(argv))
        if problem is None:
            argv = resume_arguments(argv)
            problem = check_command_line(argv)
    except UserError as error:
        problem = str(error)
    if problem:
        fail(problem)
    sys.argv[1:] = argv  # Hydra reads the command line itself
    _hydra_main()


if __name__ == "__main__":
    main()
