"""The lessons' Trainer: many of the notes' full-batch epochs in one Lightning step, counted as the notes
count them."""

from __future__ import annotations

import inspect
import logging
import math
import time
from pathlib import Path
from typing import Any, get_type_hints

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from tensorboard.compat.proto.event_pb2 import Event, SessionLog

from lightning_lessons.callbacks.tensorboard import tensorboard_writer
from lightning_lessons.results.checkpoints import read_checkpoint
from lightning_lessons.errors import ConfigError
from lightning_lessons.engine.workarounds import StepFreeCallback, checkpoint_cadence, relaunches_command_line

EPOCHS_KEY = "epochs_per_step"  # in checkpoints: how many of the notes' epochs one Lightning epoch held


class LessonTrainer(L.Trainer):
    """`lightning.Trainer` (same arguments) that runs up to `epochs_per_step` of the notes' epochs
    in one Lightning epoch of one training step when a lesson trains full-batch.

    The notes' R2 update takes ~1 ms here, and one Lightning epoch of one step costs ~2-3 ms of hooks,
    loop bookkeeping and per-step machinery around it. In a full-batch lesson a notes' epoch is a
    single update on the same batch, so the lesson's `training_step` makes `epochs_per_step` updates in
    a row (LessonModule: manual optimization, `global_step` counts each) and Lightning's costs are paid
    once for all of them. Everything else still counts the notes' epochs: `current_epoch` and
    `max_epochs` read in them (the command line's `trainer.max_epochs=10000` is 10,000 updates; the
    progress line, figure titles, the checkpoint's `epoch` and the run summary say so), logged values
    keep their x-axis step (the update's), and `epochs_per_step` is chosen to divide every cadence
    (validation, checkpoints, figures, progress lines, the epochs a resumed checkpoint had done), so
    each of them happens after exactly the update it happened after with one epoch a step. Logging
    happens inside a step, at its own update (LessonModule.log_train), so it sets no limit: a run
    validated 20 times takes 20 steps (R1-R4 at the default 500), whatever it logs.
    With mini-batches, several processes or `fast_dev_run`, it is Lightning's loop, unchanged.
    """

    def __init__(self, *args: Any, epochs_per_step: int = 500, **kwargs: Any) -> None:
        if epochs_per_step < 1:
            raise ConfigError(
                f"trainer.epochs_per_step must be at least 1 (1: one epoch a step), got {epochs_per_step}"
            )
        super().__init__(*args, **kwargs)
        self.most_epochs_per_step = epochs_per_step

    @property
    def epochs_per_step(self) -> int:
        """The notes' epochs per Lightning epoch in this fit; 0: Lightning's own optimization loop."""
        return self.__dict__.get("_epochs_per_step", 0)

    @property
    def current_epoch(self) -> int:
        """The notes' epoch: inside a Lightning epoch (its hooks included) the last one it holds."""
        per = max(1, self.epochs_per_step)
        progress = self.fit_loop.epoch_progress.current
        return progress.completed * per + (per - 1 if progress.ready > progress.completed else 0)

    @property
    def max_epochs(self) -> int | None:
        return self._notes_max_epochs if self.epochs_per_step else self.fit_loop.max_epochs

    def fit(self, model: L.LightningModule, *args: Any, **kwargs: Any) -> None:
        self._epochs_per_step = 0
        notes_epochs = self.max_epochs
        per_step = self._choose_epochs_per_step(
            kwargs.get("datamodule"), notes_epochs, kwargs.get("ckpt_path")
        )
        self._notes_max_epochs, self._epochs_per_step = notes_epochs, per_step
        if not any(isinstance(callback, EpochsPerStep) for callback in self.callbacks):
            self.callbacks.append(EpochsPerStep())
        notice = _NotesEpochsNotice(self)
        logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
        logger.addFilter(notice)
        try:
            return super().fit(model, *args, **kwargs)
        finally:
            logger.removeFilter(notice)

    def _choose_epochs_per_step(self, datamodule: object, notes_epochs: int | None, ckpt_path: Any) -> int:
        """The largest count up to `most_epochs_per_step` that divides the run's length and cadences;
        0 where one Lightning step must stay one update."""
        full_batch = getattr(datamodule, "batch_size", 0) is None
        if not full_batch or self.world_size > 1 or self.fast_dev_run or not notes_epochs or notes_epochs < 0:
            return 0
        # Not the logging cadence: a step's updates log in its middle (LessonModule.log_train).
        cadences = [notes_epochs, self.check_val_every_n_epoch or notes_epochs]
        for callback in self.callbacks:
            every = getattr(callback, "every_n_epochs", None)
            for value in (every, *checkpoint_cadence(callback)[:2]):
                if isinstance(value, int) and value > 0:
                    cadences.append(value)
            lines = getattr(callback, "epochs_between_lines", None)
            if callable(lines):
                cadences.append(lines(notes_epochs))
        if ckpt_path and Path(str(ckpt_path)).is_file():
            cadences.append(epochs_done(Path(str(ckpt_path))) or notes_epochs)
        common = math.gcd(*cadences)
        return max(d for d in range(1, self.most_epochs_per_step + 1) if common % d == 0)


class _NotesEpochsNotice(logging.Filter):
    """Lightning's "`Trainer.fit` stopped: `max_epochs=1000` reached." names its own epochs: the notes'."""

    def __init__(self, trainer: LessonTrainer) -> None:
        super().__init__()
        self.trainer = trainer

    def filter(self, record: logging.LogRecord) -> bool:
        lightning = f"`max_epochs={self.trainer.fit_loop.max_epochs!r}`"
        if self.trainer.epochs_per_step and isinstance(record.msg, str) and lightning in record.msg:
            record.msg = record.msg.replace(lightning, f"`max_epochs={self.trainer.max_epochs!r}`")
        return True


# Lightning's own signature and types plus `epochs_per_step`: config checks see every trainer argument.
_EXTRA = inspect.Parameter("epochs_per_step", inspect.Parameter.KEYWORD_ONLY, default=500, annotation=int)
_LIGHTNING = inspect.signature(L.Trainer.__init__)
LessonTrainer.__init__.__signature__ = _LIGHTNING.replace(
    parameters=[*_LIGHTNING.parameters.values(), _EXTRA]
)
LessonTrainer.__init__.__annotations__ = {**get_type_hints(L.Trainer.__init__), "epochs_per_step": int}


def epochs_done(path: Path) -> int:
    """The notes' epochs a checkpoint had completed."""
    checkpoint = read_checkpoint(path, training=True)
    processed = checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"]
    return processed * max(1, checkpoint.get(EPOCHS_KEY, 0))


def _scale(counts: dict[str, Any], numerator: int, denominator: int) -> None:
    for key, value in counts.items():
        if isinstance(value, dict):
            _scale(value, numerator, denominator)
        elif isinstance(value, int):
            counts[key] = value * numerator // denominator


class EpochsPerStep(StepFreeCallback):
    """Gives Lightning's loop its number of epochs (the notes' divided by `epochs_per_step`; the Trainer
    sets it from `max_epochs` just before), records in each checkpoint how many of the notes' epochs a
    Lightning epoch held, and converts a resumed checkpoint's loop counters to this fit's count, so a
    run resumes with any length."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.epochs_per_step:
            trainer.fit_loop.max_epochs = trainer.max_epochs // trainer.epochs_per_step

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.ckpt_path and trainer.global_step:
            drop_rows_after(trainer, trainer.global_step + 1)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        checkpoint[EPOCHS_KEY] = trainer.epochs_per_step

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        saved, now = checkpoint.get(EPOCHS_KEY, 0), trainer.epochs_per_step
        loop = checkpoint["loops"]["fit_loop"]
        if max(1, saved) != max(1, now):
            _scale(loop["epoch_progress"], max(1, saved), max(1, now))
            _scale(loop["epoch_loop.batch_progress"]["total"], max(1, saved), max(1, now))
        if (saved == 0) != (now == 0):  # Lightning counts steps apart for its own and for manual updates
            automatic = loop["epoch_loop.automatic_optimization.optim_progress"]["optimizer"]["step"]
            manual = loop["epoch_loop.manual_optimization.optim_step_progress"]
            source, target = (automatic, manual) if saved == 0 else (manual, automatic)
            for part in ("total", "current"):
                target[part].update({key: source[part][key] for key in ("ready", "completed")})


def check_launch(trainer: L.Trainer) -> None:
    """Stop a Hydra multirun that strategy `ddp` would re-run once per extra process: it starts a node's
    other processes by running the command line again, and under `-m` that line is the whole sweep.
    Where the cluster starts the processes (srun, torchrun) nothing is re-run."""
    if (
        relaunches_command_line(trainer)
        and HydraConfig.initialized()
        and HydraConfig.get().mode == RunMode.MULTIRUN
    ):
        raise ConfigError(
            "strategy 'ddp' starts its processes by running the command line again, which under -m "
            "is the whole sweep: use trainer.strategy=ddp_fork (trainer=ddp_cpu on the CPU), "
            "or hydra/launcher=slurm, where SLURM starts the processes"
        )


def drop_rows_after(trainer: L.Trainer, step: int) -> None:
    """Tell TensorBoard that the run restarts here: its reader drops what the run's earlier event files hold
    at `step` or later (a `SessionLog.START` event).

    A run killed between two checkpoints has written rows for updates its checkpoint does not hold (a
    step's updates log in its middle, and with one update a step every logging step writes at once); the
    resumed run writes them again. Called with the checkpoint's step + 1: the figures and parameters
    drawn at the checkpoint's own step stay (the resumed run does not draw them again); only a row of
    the very next update, were it a logging one, could be left twice.
    """
    writer = tensorboard_writer(trainer)
    if writer is not None:
        start = SessionLog(status=SessionLog.START)
        writer._get_file_writer().add_event(Event(step=step, wall_time=time.time(), session_log=start))


def close_process_group() -> None:
    """End a run of several processes together: each waits for the others at the end, then leaves the
    process group, rather than leaving it to Lightning's exit handler in whatever order the processes
    end. One srun DDP task was seen to abort there once ("terminate called without an active
    exception", exit 134, after a good run); this is the guard against it, not a proven cure."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
