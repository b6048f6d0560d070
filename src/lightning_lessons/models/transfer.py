"""Transfer learning (T1): start part of a network from a run this project trained, and compare it with
the same network trained from scratch, in one run."""

import copy
from pathlib import Path

from torch import Tensor, nn
from torchmetrics.classification import MulticlassAccuracy

from lightning_lessons.errors import CheckpointError
from lightning_lessons.models.base import OptimizerFactory, SchedulerFactory
from lightning_lessons.models.classification import STAGES, ClassificationModule
from lightning_lessons.results.checkpoints import load_weights, read_checkpoint, refuse_other_lesson
from lightning_lessons.results.runs import newest_run


class MissingCheckpointError(CheckpointError):
    """The run to transfer from does not exist yet; the message says which command makes it."""


class PretrainedWeights:
    """The weights of one submodule (`module`, e.g. `net.features`) of a network trained by `lesson`.

    Without a `checkpoint`, the newest run of `lesson` under `runs_dir` (best checkpoint, else last):
    `make train LESSON=<lesson>` is all a user has to do first. Nothing is downloaded.
    """

    def __init__(
        self,
        lesson: str = "mnist_cnn",
        module: str = "net.features",
        runs_dir: str = "logs/",
        checkpoint: str | None = None,
    ) -> None:
        self.lesson = lesson
        self.module = module
        self.runs_dir = Path(runs_dir)
        self.checkpoint = Path(checkpoint) if checkpoint else None

    def how_to_make_one(self) -> str:
        return (
            f"Train lesson {self.lesson} first: make train LESSON={self.lesson} (to try things, a short run "
            f'is enough: make train LESSON={self.lesson} ARGS="trainer.max_epochs=1 '
            f'+trainer.limit_train_batches=100"), or set model.pretrained.checkpoint=<file.ckpt>.'
        )

    def checkpoint_path(self) -> Path:
        if self.checkpoint is not None:
            if not self.checkpoint.is_file():
                raise MissingCheckpointError(
                    f"checkpoint not found: {self.checkpoint}. {self.how_to_make_one()}"
                )
            return self.checkpoint
        source = newest_run(self.runs_dir, self.lesson)
        if source is None:
            raise MissingCheckpointError(
                f"no checkpoint of lesson {self.lesson} in {self.runs_dir / self.lesson}/*/checkpoints/, "
                f"and this lesson transfers weights from one. {self.how_to_make_one()}"
            )
        return source.checkpoint()

    def state_dict(self) -> tuple[Path, dict[str, Tensor]]:
        """The checkpoint used and the weights of `module` in it, named relative to that module."""
        path = self.checkpoint_path()
        weights = read_checkpoint(path)["state_dict"]  # as data, before anything else reads the file
        refuse_other_lesson(path, self.lesson, "model.pretrained")
        prefix = f"{self.module}."
        state = {name.removeprefix(prefix): w for name, w in weights.items() if name.startswith(prefix)}
        if not state:
            modules = sorted({name.rsplit(".", 2)[0] for name in weights})
            raise CheckpointError(
                f"{path} has no weights under '{self.module}' (it has {', '.join(modules)}): "
                f"is it a checkpoint of lesson {self.lesson}?"
            )
        return path, state


class TransferModule(ClassificationModule):
    """A classifier whose submodule `into` starts from `pretrained` weights, trained side by side with an
    identical copy from scratch (`scratch`): same random start, same batches, same steps, so the
    transferred weights are the only difference. `acc_gain` is their accuracy difference. `freeze=True`
    keeps the transferred weights fixed (feature extraction); otherwise they are fine-tuned.
    """

    TRAIN_METRICS = (*ClassificationModule.TRAIN_METRICS, "loss_scratch", "acc_scratch")
    EVAL_METRICS = (*ClassificationModule.EVAL_METRICS, "loss_scratch", "acc_scratch", "acc_gain")

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        pretrained: PretrainedWeights,
        into: str = "features",
        freeze: bool = False,
        optimizer: OptimizerFactory | None = None,
        loss: nn.Module | None = None,
        channels_last: bool = False,
        confusion_matrix: bool = False,
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        super().__init__(net, num_classes, optimizer, loss, channels_last, confusion_matrix, scheduler)
        self.pretrained = pretrained
        self.into = into
        self.freeze = freeze
        self.scratch = copy.deepcopy(self.net)
        self.scratch_accuracy = nn.ModuleDict(
            {stage: MulticlassAccuracy(num_classes, average="micro") for stage in STAGES}
        )
        self.source_checkpoint: Path | None = None
        if freeze:
            self.net.get_submodule(into).requires_grad_(False)

    def setup(self, stage: str) -> None:
        # Before fitting, not in __init__: evaluating a finished run restores both networks from its
        # own checkpoint and needs no source run; resuming overwrites these weights with the run's.
        if stage == "fit" and self.source_checkpoint is None:
            self.source_checkpoint, state = self.pretrained.state_dict()
            load_weights(self.net.get_submodule(self.into), state, self.source_checkpoint)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        logits, scratch_logits = self(x), self.scratch_logits(x)
        loss, scratch_loss = self.loss_fn(logits, y), self.loss_fn(scratch_logits, y)
        if self.logging_step():
            metrics = {
                "train/loss": loss,
                "train/acc": (logits.argmax(dim=1) == y).float().mean(),
                "train/loss_scratch": scratch_loss,
                "train/acc_scratch": (scratch_logits.argmax(dim=1) == y).float().mean(),
            }
            self.log_dict(metrics, prog_bar=True, batch_size=len(x))
        # Disjoint weights and a per-weight optimizer (Adam): one step on the sum is two trainings.
        return loss + scratch_loss

    def scratch_logits(self, x: Tensor) -> Tensor:
        return self.scratch(self.memory_format(x))

    def evaluate(self, batch: tuple[Tensor, ...], stage: str) -> Tensor:
        x, y = batch
        logits = self.scratch_logits(x)
        self.log(f"{stage}/loss_scratch", self.loss_fn(logits, y), batch_size=len(x))
        self.scratch_accuracy[stage].update(logits.argmax(dim=1), y)
        self.log(f"{stage}/acc_scratch", self.scratch_accuracy[stage], batch_size=len(x))
        return super().evaluate(batch, stage)

    def _log_gain(self, stage: str) -> None:
        gain = self.accuracy[stage].compute() - self.scratch_accuracy[stage].compute()
        self.log(f"{stage}/acc_gain", gain, prog_bar=stage == "val")

    def on_validation_epoch_end(self) -> None:
        self._log_gain("val")
        super().on_validation_epoch_end()

    def on_test_epoch_end(self) -> None:
        self._log_gain("test")
        super().on_test_epoch_end()
