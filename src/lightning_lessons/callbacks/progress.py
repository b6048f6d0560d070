"""Console progress: one Rich bar for the whole fit on a terminal, a few plain lines elsewhere."""

import sys
import time
from typing import TextIO

import lightning as L
from lightning.pytorch.callbacks import ProgressBar
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from lightning_lessons.results.console import console_and_log


class LessonProgressBar(ProgressBar):
    """A single bar over every training step of the fit, with the logged metrics beside it.

    Lightning's own bars restart every epoch: 10,000 bars for a 10,000-epoch lesson. Off a terminal it
    prints a line every `max_epochs / lines` epochs, and every `line_seconds` inside a long epoch; on a
    terminal those lines go to the run's `train.log` alone, beside the bar.
    """

    def __init__(
        self,
        description: str = "training",
        refresh_seconds: float = 0.5,
        lines: int = 10,
        line_seconds: float = 30.0,
    ) -> None:
        super().__init__()
        self.description = description
        self.refresh_seconds = refresh_seconds
        self.lines = lines
        self.line_seconds = line_seconds
        self._enabled = True
        self._progress: Progress | None = None
        self._lines: TextIO | None = None
        self._last_refresh = 0.0
        self._total_steps = 0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def metrics_text(self, trainer: L.Trainer) -> str:
        return "  ".join(f"{name}={float(value):.4g}" for name, value in trainer.progress_bar_metrics.items())

    def _status(self, trainer: L.Trainer, epoch: int | None = None) -> str:
        epoch = trainer.current_epoch + 1 if epoch is None else epoch
        steps = f"step {trainer.global_step}/{self._total_steps}"
        return f"epoch {epoch}/{trainer.max_epochs}  {steps}  {self.metrics_text(trainer)}"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._enabled or not trainer.is_global_zero:
            return
        self._every = max(1, trainer.max_epochs // self.lines)  # off a terminal, a line every this many
        self._total_steps = int(trainer.estimated_stepping_batches)  # once: Lightning works it out per call
        self._last_refresh = time.monotonic()
        console, log = console_and_log(sys.stdout)
        self._lines = sys.stdout
        if console.isatty():
            self._lines = log
            self._progress = Progress(
                TextColumn("[bold blue]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                refresh_per_second=4,
                console=Console(file=console),
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.description,
                total=self._total_steps,
                completed=trainer.global_step,
                status=self._status(trainer),
            )

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: object, batch: object, batch_idx: int
    ) -> None:
        if not self._enabled or not trainer.is_global_zero:
            return
        now = time.monotonic()
        if self._progress is not None:
            self._progress.update(self._task, completed=trainer.global_step)  # a step may hold several
            if now - self._last_refresh > self.refresh_seconds:
                self._last_refresh = now
                self._progress.update(self._task, status=self._status(trainer))
        elif now - self._last_refresh > self.line_seconds and batch_idx + 1 < trainer.num_training_batches:
            self._last_refresh = now
            where = f"step {batch_idx + 1}/{trainer.num_training_batches}"
            self.print_line(f"{self._status(trainer)}  ({where})")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._enabled or not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch + 1
        if epoch % self._every == 0 or epoch == trainer.max_epochs:
            self.print_line(self._status(trainer, epoch))

    def print_line(self, line: str) -> None:
        if self._lines is not None:
            print(line, file=self._lines, flush=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._enabled and trainer.is_global_zero and trainer.current_epoch < trainer.max_epochs:
            # EarlyStopping (or SLURM's time limit) ended the fit: say so, where it stood.
            self.print_line(
                f"stopped before max_epochs, at epoch {trainer.current_epoch}/{trainer.max_epochs}"
            )
        if self._progress is not None:
            self._progress.update(self._task, status=self._status(trainer, trainer.current_epoch))
            self._progress.stop()
            self._progress = None
