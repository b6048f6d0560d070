"""Classification from logits (C1, C2, V1)."""

from torch import Tensor, nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from lightning_lessons.models.base import LessonModule, OptimizerFactory, SchedulerFactory

STAGES = ("val", "test")


class ClassificationModule(LessonModule):
    """Any `nn.Module` that outputs one logit per class, trained with cross-entropy.

    The notes put a sigmoid (C1) or a softmax (C2) in front of `CrossEntropyLoss`, which applies
    log-softmax itself: squashing first flattens its gradients and slows learning, so here the raw
    logits go to the loss. `confusion_matrix=True` keeps a confusion matrix per split for the figures.
    """

    TRAIN_METRICS = EVAL_METRICS = ("loss", "acc")

    def __init__(
        self,
        net: nn.Module,
        num_classes: int,
        optimizer: OptimizerFactory | None = None,
        loss: nn.Module | None = None,
        channels_last: bool = False,
        confusion_matrix: bool = False,
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        loss = loss if loss is not None else nn.CrossEntropyLoss()
        super().__init__(net, loss, optimizer, channels_last, scheduler)
        self.num_classes = num_classes
        self.accuracy = nn.ModuleDict(
            {stage: MulticlassAccuracy(num_classes, average="micro") for stage in STAGES}
        )
        self.confusion = (
            nn.ModuleDict({stage: MulticlassConfusionMatrix(num_classes) for stage in STAGES})
            if confusion_matrix
            else None
        )

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss_fn(logits, y)
        if self.logging_step():
            accuracy = (logits.argmax(dim=1) == y).float().mean()
            self.log_dict({"train/loss": loss, "train/acc": accuracy}, prog_bar=True, batch_size=len(x))
        return loss

    def update_metrics(self, output: Tensor, target: Tensor, stage: str) -> None:
        predictions = output.argmax(dim=1)
        self.accuracy[stage].update(predictions, target)
        self.log(f"{stage}/acc", self.accuracy[stage], prog_bar=stage == "val", batch_size=len(target))
        if self.confusion is not None:
            self.confusion[stage].update(predictions, target)

    def on_validation_epoch_end(self) -> None:
        # Figures read the matrix in their own epoch-end hooks, which Lightning runs before this one.
        if self.confusion is not None:
            self.confusion["val"].reset()

    def on_test_epoch_end(self) -> None:
        if self.confusion is not None:
            self.confusion["test"].reset()
