"""Every place the lessons lean on Lightning's internals, in one module, for the next upgrade to re-check.

Written for Lightning 2.6 (2.6.6; `WRITTEN_FOR`). The rest of the package uses Lightning's public API
and these names.
Each entry: what it does, why, and what to check after an upgrade.

1. `quiet_lightning`: filters Lightning notices that do not apply to these lessons (in-memory loaders,
   full-batch steps, manual lessons without an optimizer). Check: the messages' wording.
2. `cheap_cuda_check`: Lightning sets `PYTORCH_NVML_BASED_CUDA_CHECK=1`, so every
   `torch.cuda.is_available()` asks NVML (~85 us; Adam asks every step: D1 +50%). With no GPU at all
   there is nothing to guard. Check: whether Lightning still sets the variable.
3. `relaunches_command_line`: strategy `ddp` on one machine starts its other processes by running the
   command line again (`_SubprocessScriptLauncher`), which under `-m` is the whole sweep.
   Check: the launcher's class and `creates_processes_externally`.
4. `recover_fit_state`: after `ddp_fork`/`ddp_spawn`, the launching process's Trainer gets weights and
   metrics back but not its loop counters or best score; they are read from `last.ckpt`.
   Check: the checkpoint's `loops.fit_loop` layout and `fit_loop.load_state_dict`.
5. `StepFreeCallback`, `skip_unused_training_hooks`: Lightning skips a callback hook that is not
   callable; the training hooks a callback leaves alone are set to None, so they cost nothing at each
   step (4 callbacks: +7% on R2).
   Check: `_call_callback_hooks` still tests `callable`.
6. `CheapHookName`: Lightning sets `_current_fx_name` on the module around every hook call, dozens of
   times a step, through `nn.Module.__setattr__`'s parameter and submodule lookups; set plainly.
   Check: the attribute's name.
7. `update_counter`, `count_update` and `set_logging_step`: several of the notes' epochs in one step
   (LessonTrainer) count each update as Lightning counts its own: manual optimization's
   `optim_step_progress` (which `global_step` reads) and the epoch loop's `_batches_that_stepped`
   (the logging step TensorBoard's x-axis follows). Check: both names, and that `global_step` reads
   the first.
8. `checkpoint_cadence`, `last_saved_step`, `checkpoint_state_key`: `ModelCheckpoint` keeps its
   cadence and last saved step private; LessonCheckpoint skips its per-epoch bookkeeping between
   saves, and LessonTrainer chooses epochs per step that divide every cadence.
   Check: `_every_n_epochs`, `_every_n_train_steps`, `_train_time_interval`, `_last_global_step_saved`,
   `_generate_state_key`.
9. `attached_trainer`: `LightningModule.trainer` raises when no Trainer is attached (a module used
   outside a fit); `_trainer` is None then. Check: the attribute's name.

10. `LinkedLastCheckpoint`: overrides ModelCheckpoint's `_save_checkpoint` and `_save_last_checkpoint`
   to write last.ckpt as a hard link to a best.ckpt of the same step. Check: both methods' names and
   that `_save_last_checkpoint` still runs after the best one at a validation.
11. `fast_event_checksums`: TensorBoard's event writer (TensorBoard's, not Lightning's) checksums every
   record in pure Python while holding the interpreter lock; google-crc32c computes the same checksum
   in C. Check: `tensorboard.summary.writer.record_writer.masked_crc32c` still exists (a test compares
   both on records of many lengths).
12. `cheap_result_moves`: every `self.log` moves its stored result to the value's device, walking the
   result's attributes and deep-copying its metadata (~0.17 ms of a ~0.4 ms call, 80 calls in a C1 run)
   even when nothing is elsewhere; a move to the device it was last moved to is skipped.
   Check: `_ResultMetric.to` and that `_ResultCollection.log` still calls it with the value's device,
   and that Lightning moves results by no other route (`nn.Module.cpu()` and the like would leave the
   mark stale; `_ResultCollection.to` and `.cpu()` call `to` with other arguments, which moves).

Also leaning on Lightning's checkpoint layout (public, but undocumented): `engine/trainer.py`'s
`EpochsPerStep` rescales the loop counters in `checkpoint["loops"]["fit_loop"]` when a run resumes with
another number of epochs per step.
"""

from __future__ import annotations

import logging
import os
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import google_crc32c
import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher
from lightning.pytorch.trainer.connectors.logger_connector.result import _ResultMetric
from tensorboard.summary.writer import record_writer

from lightning_lessons.results.checkpoints import link_checkpoint, read_checkpoint

WRITTEN_FOR = "2.6"  # the Lightning release these were checked against (a test holds the installed one to it)

# 1. Lightning's notices that do not apply to in-memory tensor loaders and full-batch lessons.
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
    """Keep the console to what a learner needs."""
    for pattern in _IRRELEVANT_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_NoAdverts())


def cheap_cuda_check() -> None:
    """No GPU at all: let `torch.cuda.is_available()` skip NVML (2)."""
    if os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK") == "1" and torch.cuda.device_count() == 0:
        os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "0"


def fast_event_checksums() -> None:
    """TensorBoard's record checksums computed in C (11): its own pure-Python loop, run in its writer
    thread, held the lock training needs for ~37 us a scalar's event, 0.4 ms a PR curve's and 12 ms a
    100 kB figure's (C1: -6% a step without figures, -12% with them)."""
    record_writer.masked_crc32c = masked_crc32c


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that TFRecord files store beside each record (TensorBoard's `masked_crc32c`)."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def prepare_process() -> None:
    """The process-wide workarounds, before a run is built (1, 2, 11, 12)."""
    quiet_lightning()
    cheap_cuda_check()
    fast_event_checksums()
    cheap_result_moves()


def cheap_result_moves() -> None:
    """`self.log`'s move of its stored result skipped when it is already on the value's device (12)."""
    move = _ResultMetric.to
    if getattr(move, "skips_idle_moves", False):
        return

    def to(self: _ResultMetric, *args: Any, **kwargs: Any) -> _ResultMetric:
        device = args[0] if len(args) == 1 and not kwargs and isinstance(args[0], torch.device) else None
        if device is not None and self.__dict__.get("_moved_to") == device:
            return self
        move(self, *args, **kwargs)
        object.__setattr__(self, "_moved_to", device)  # other moves (dtype, "cpu"): checked again next time
        return self

    to.skips_idle_moves = True
    _ResultMetric.to = to


def relaunches_command_line(trainer: L.Trainer) -> bool:
    """Whether the strategy starts this machine's other processes by running the command line again (3)."""
    launcher = trainer.strategy.launcher
    return (
        isinstance(launcher, _SubprocessScriptLauncher)
        and launcher.num_processes > 1
        and not launcher.cluster_environment.creates_processes_externally
    )


def recover_fit_state(trainer: L.Trainer, last: Path) -> None:
    """Give this process's Trainer the epoch count and best score the training processes saved (4)."""
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


# 5. Hooks Lightning calls at every training step or one-step epoch, each through a profiler context.
TRAINING_HOOKS = (
    "on_train_batch_start",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_train_batch_end",
    "on_train_epoch_start",
    "on_train_epoch_end",
)


def skip_unused_training_hooks(callback: L.Callback) -> None:
    """Set the training hooks `callback`'s class leaves as `L.Callback`'s no-ops to None on the instance,
    so Lightning skips them (also for callbacks built on Lightning's own: ModelCheckpoint, ProgressBar).
    A mini-batch step calls six hooks of every callback: ~0.1 ms of D1's ~1.1 ms step for eight (5)."""
    for name in TRAINING_HOOKS:
        if getattr(type(callback), name) is getattr(L.Callback, name):
            setattr(callback, name, None)


class StepFreeCallback(L.Callback):
    """A callback that works at fit start, validation or fit end, and costs nothing while steps run (5)."""

    def __init__(self) -> None:
        skip_unused_training_hooks(self)


class CheapHookName:
    """LightningModule mixin: the running hook's name is set without `nn.Module`'s lookups (6)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)


def update_counter(trainer: L.Trainer) -> Any:
    """Lightning's count of manual optimizer steps, which `global_step` reads (7)."""
    return trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress


def count_update(counter: Any) -> None:
    """Count an update that no Lightning optimizer made, as Lightning counts its own (7)."""
    counter.increment_ready()
    counter.increment_completed()


def set_logging_step(trainer: L.Trainer, step: int) -> None:
    """Set the step Lightning logs at (it adds the current batch's one after the step) (7)."""
    trainer.fit_loop.epoch_loop._batches_that_stepped = step


def checkpoint_cadence(callback: L.Callback) -> tuple[int, int, timedelta | None]:
    """A ModelCheckpoint's (every_n_epochs, every_n_train_steps, train_time_interval); zeros for
    other callbacks (8)."""
    if not isinstance(callback, ModelCheckpoint):
        return 0, 0, None
    return callback._every_n_epochs, callback._every_n_train_steps, callback._train_time_interval


def last_saved_step(callback: ModelCheckpoint) -> int:
    """The global step of the checkpoint it saved last (8)."""
    return callback._last_global_step_saved


def checkpoint_state_key(callback: ModelCheckpoint) -> str:
    """Lightning's key for the callback's state in a checkpoint, from monitor and mode only (8)."""
    return callback._generate_state_key(monitor=callback.monitor, mode=callback.mode)


def attached_trainer(module: L.LightningModule) -> L.Trainer | None:
    """The Trainer fitting the module, or None outside a fit (9)."""
    return module._trainer


class LinkedLastCheckpoint(ModelCheckpoint):
    """`ModelCheckpoint` whose last.ckpt is a hard link to best.ckpt when best.ckpt was just written at
    the same step: the same state, not serialised and flushed a second time (R1-R4 improve at nearly
    every validation, and a save cost ~5 ms of a 1-2 s run, more on a busy disk) (10)."""

    @property
    def last_path(self) -> str:
        """Where last.ckpt goes: `dirpath`/last.ckpt."""
        return os.path.join(self.dirpath or "", self.CHECKPOINT_NAME_LAST + self.FILE_EXTENSION)

    def name_last_before_saving(self) -> None:
        """Name last.ckpt before best.ckpt is written, so best's state names it as last's own does."""
        if self.save_last is True and self.dirpath:
            self.last_model_path = self.last_path

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        self._written = (filepath, trainer.global_step)

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict) -> None:
        if (
            self.save_last is True
            and trainer.world_size == 1
            and self.last_model_path == self.last_path
            and getattr(self, "_written", None) == (self.best_model_path, trainer.global_step)
            and link_checkpoint(Path(self.best_model_path), Path(self.last_path))
        ):
            return
        super()._save_last_checkpoint(trainer, monitor_candidates)
