"""Train a lesson: `python -m lightning_lessons.train lesson=<name> [key=value ...]`."""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from omegaconf import DictConfig

if TYPE_CHECKING:
    import lightning as L

from lightning_lessons.config import CONF_DIR, CONFIG_NAME, check_command_line, register_resolvers
from lightning_lessons.errors import ConfigError, UserError, fail, user_error
from lightning_lessons.runs import Run

# Lightning's notices that do not apply to in-memory tensor loaders and full-batch lessons.
_IRRELEVANT_WARNINGS = (
    r".*The `srun` command is available on your system but is not used.*",  # lessons start their own
    r".*smaller than the logging interval.*",  # metrics are logged every n global steps, not per epoch
    r".*Total length of `list` across ranks is zero.*",  # a lesson without a validation split
    r".*isinstance\(treespec, LeafSpec\)` is deprecated.*",  # inside Lightning itself
    r".*configure_optimizers` returned `None`.*",  # manual lessons have no optimizer on purpose
    r".*overridden `transfer_batch_to_device` in `LightningModule`.*",  # ours skips on-device batches
    r".*Checkpoint directory .* exists and is not empty.*",  # resume=latest continues in the same folder
    r".*requested to overfit but enabled .* shuffling.*",  # ours do not shuffle under overfit_batches
)


class _NoAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


def quiet_lightning() -> None:
    """Keep the console to what a learner needs: drop warnings that do not apply to these lessons."""
    for pattern in _IRRELEVANT_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_NoAdverts())


def cheap_cuda_check() -> None:
    """Lightning makes `torch.cuda.is_available()` ask NVML, so forked workers never start CUDA; with no
    GPU at all that costs ~85 us a call, and Adam calls it every step (D1: +50%). No GPU, nothing to guard."""
    import torch

    if os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK") == "1" and torch.cuda.device_count() == 0:
        os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "0"


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Build each entry of a `callbacks`/`logger` group; an entry set to null is switched off."""
    from hydra.utils import instantiate

    return [instantiate(node) for node in (group or {}).values() if node is not None]


@dataclass
class Experiment:
    """The three objects a lesson's config describes, built and ready to fit."""

    datamodule: L.LightningDataModule
    model: L.LightningModule
    trainer: L.Trainer


def build(cfg: DictConfig) -> Experiment:
    """Check the config, seed everything, and build data, model and Trainer from their `_target_`s."""
    import lightning as L
    import torch
    from hydra.utils import instantiate
    from lightning.pytorch.callbacks import ProgressBar

    from lightning_lessons.schema import check_config

    problems = check_config(cfg)
    if problems:
        raise ConfigError("\n".join(problems))
    quiet_lightning()
    cheap_cuda_check()
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
    # With `callbacks.progress=null` there is no bar at all, rather than Lightning's default one.
    bar = any(isinstance(callback, ProgressBar) for callback in callbacks)
    loggers = instantiate_all(cfg.get("logger")) or False
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, enable_progress_bar=bar)
    return Experiment(datamodule, model, trainer)


def save_config(cfg: DictConfig, run: Run) -> None:
    """Write the run's config with its paths made absolute, as they are now (working directory,
    $LESSONS_DATA_DIR): eval, resume and predict then rebuild exactly what was trained, from anywhere."""
    from omegaconf import OmegaConf

    for key in cfg.paths:
        cfg.paths[key] = str(Path(cfg.paths[key]).resolve())
    run.config_path.parent.mkdir(parents=True, exist_ok=True)
    partial = run.config_path.with_name(f".{run.config_path.name}.{os.getpid()}")
    OmegaConf.save(cfg, partial)  # every process of a multi-process run writes the same file: no torn one
    os.replace(partial, run.config_path)


def resume_checkpoint(cfg: DictConfig, run: Run) -> str | None:
    """The checkpoint to start from: `last` is this run's own last.ckpt (resume); checked readable now,
    not deep in fit."""
    from lightning_lessons.checkpoints import read_checkpoint
    from lightning_lessons.errors import ResumeError

    if not cfg.ckpt_path:
        return None
    path = run.last if cfg.ckpt_path == "last" else Path(cfg.ckpt_path)
    if cfg.ckpt_path == "last" and not path.is_file():
        raise ResumeError(f"cannot resume {run.folder}: it has no {path.relative_to(run.folder)}")
    read_checkpoint(path, training=True)
    return str(path)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit the lesson the config describes, test its best checkpoint, and record the results."""
    from lightning_lessons.runinfo import print_config_tree, save_run_info
    from lightning_lessons.slurm.requeue import requeue_if_stopped, requeued_checkpoint
    from lightning_lessons.summary import finish_run

    run = Run(Path(cfg.paths.output_dir))
    save_config(cfg, run)
    ckpt_path = resume_checkpoint(cfg, run) or requeued_checkpoint(run.last)
    experiment = build(cfg)
    datamodule, model, trainer = experiment.datamodule, experiment.model, experiment.trainer
    check_launch(trainer)
    if trainer.is_global_zero:
        save_run_info(cfg, run)
        if cfg.print_config:
            print_config_tree(cfg)
        if not cfg.trainer.get("enable_model_summary"):
            from lightning.pytorch.utilities.model_summary import ModelSummary

            print(ModelSummary(model, max_depth=1), flush=True)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    requeue_if_stopped(trainer)  # stopped for SLURM's time-limit signal: the job runs again from here
    checkpoints = trainer.checkpoint_callback
    if trainer.global_step == 0 and checkpoints is not None and checkpoints.dirpath:
        recover_fit_state(trainer, Path(checkpoints.dirpath) / "last.ckpt")

    metrics = {name: float(value) for name, value in sorted(trainer.callback_metrics.items())}
    if cfg.test and datamodule.has_split("test"):
        best = checkpoints.best_model_path if checkpoints is not None else ""
        tested = trainer.test(
            model, datamodule=datamodule, ckpt_path=best or None, verbose=False, weights_only=False
        )
        for results in tested:
            metrics.update({name: float(value) for name, value in sorted(results.items())})
    return finish_run(cfg, trainer, model, datamodule, metrics, run)


def check_launch(trainer: L.Trainer) -> None:
    """Stop a Hydra multirun that strategy `ddp` would re-run once per extra process.

    `ddp` starts a node's other processes by running the command line again, and under `-m` that
    line is the whole sweep. Where the cluster starts the processes (srun, torchrun) nothing is re-run.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher

    launcher = trainer.strategy.launcher
    if (
        isinstance(launcher, _SubprocessScriptLauncher)
        and launcher.num_processes > 1
        and not launcher.cluster_environment.creates_processes_externally
        and HydraConfig.initialized()
        and HydraConfig.get().mode == RunMode.MULTIRUN
    ):
        raise ConfigError(
            "strategy 'ddp' starts its processes by running the command line again, which under -m "
            "is the whole sweep: use trainer.strategy=ddp_fork (trainer=ddp_cpu on the CPU), "
            "or hydra/launcher=slurm, where SLURM starts the processes"
        )


def recover_fit_state(trainer: L.Trainer, last: Path) -> None:
    """After a fit in forked or spawned processes (`ddp_fork`, `ddp_spawn`) this process's Trainer
    has its weights and metrics back, but not its epoch count or best score: take them from the
    checkpoint the training processes wrote at the end."""
    from lightning_lessons.checkpoints import read_checkpoint

    if not last.is_file():
        return
    checkpoint = read_checkpoint(last, training=True)
    trainer.fit_loop.load_state_dict(checkpoint["loops"]["fit_loop"])
    epochs = trainer.fit_loop.epoch_progress
    if epochs.current.processed > epochs.current.completed:  # saved at the end of the last epoch
        epochs.increment_completed()
    callback = trainer.checkpoint_callback
    state = checkpoint.get("callbacks", {}).get(callback.state_key)
    if state is not None:
        callback.load_state_dict(state)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG_NAME)
def _hydra_main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

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
            # The sweep's table (sweeps.SweepTable) shows the failure and ends with a non-zero exit.
            from lightning_lessons.summary import record_failure

            message = str(mistake) if mistake is not None else f"{type(error).__name__}: {error}"
            record_failure(cfg, error, message, Run(Path(cfg.paths.output_dir)))
            return None
        if mistake is None:
            raise
        fail(str(mistake))  # what to fix, not a stack trace


def main() -> None:
    """Check the command line (and resolve a resume) before Hydra makes a run folder."""
    from lightning_lessons.resume import resume_arguments, without_resume

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
