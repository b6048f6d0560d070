"""A lesson's data, model and stock `lightning.Trainer`, built from its config: shared by `train`,
`eval` and `make compare`/`make bench`, so each runs exactly what a user's run would."""

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.strategies import DDPStrategy
from omegaconf import DictConfig

from lightning_lessons.config import in_sweep
from lightning_lessons.errors import ConfigError
from lightning_lessons.schema import check_config

# Lightning's notices that do not apply to in-memory tensor loaders and full-batch lessons.
IRRELEVANT_WARNINGS = (
    r".*The `srun` command is available on your system but is not used.*",  # lessons start their own
    r".*does not have many workers.*",  # batches are sliced from tensors already in memory
    r".*smaller than the logging interval.*",  # a full-batch epoch is one batch served many times
    r".*Total length of `list` across ranks is zero.*",  # a lesson without a validation split
    r".*Checkpoint directory .* exists and is not empty.*",  # resume=latest continues in the same folder
    r".*requested to overfit but enabled .* shuffling.*",  # ours do not shuffle under overfit_batches
    r".*isinstance\(treespec, LeafSpec\).*",  # Lightning's own call into torch's pytree; nothing to change
)


class NoAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


def quiet_lightning_lines() -> None:
    """For tools that Hydra's job logging does not configure (eval, compare, export, lr-find, bench):
    Lightning's info lines off, as `train` has them (conf/hydra/default.yaml)."""
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


def quiet_lightning() -> None:
    """Keep the console to what a learner needs."""
    for pattern in IRRELEVANT_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(NoAdverts())


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
    quiet_lightning()
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
    try:
        trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, enable_progress_bar=bar)
    except InstantiationException as error:
        if isinstance(error.__cause__, ModuleNotFoundError):  # e.g. accelerator=tpu without torch_xla
            raise ConfigError(f"this machine cannot build the trainer: {error.__cause__}") from error
        raise
    check_launch(trainer)
    return Experiment(datamodule, model, trainer)


def check_launch(trainer: L.Trainer) -> None:
    """Stop a Hydra multirun that DDP would re-run once per extra process: strategy `ddp` starts a
    machine's other processes by running the command line again, and under -m that line is the whole
    sweep. Where the cluster starts the processes (srun, torchrun) nothing is re-run."""
    strategy = trainer.strategy
    if (
        isinstance(strategy, DDPStrategy)
        and trainer.num_devices > 1
        and not strategy.cluster_environment.creates_processes_externally
        and strategy.launcher is not None
        and not strategy.launcher.is_interactive_compatible  # `ddp_fork` is; `ddp` and `ddp_spawn` are not
        and in_sweep()
    ):
        raise ConfigError(
            "strategy 'ddp' starts its processes by running the command line again, which under -m "
            "is the whole sweep: use trainer.strategy=ddp_fork (trainer=ddp_cpu on the CPU), "
            "or hydra/launcher=slurm, where SLURM starts the processes"
        )


def leave_process_group() -> None:
    """A run of several processes ends together: each waits for the others, then leaves the group (one
    srun DDP task was seen to abort when left to Lightning's exit handler)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
