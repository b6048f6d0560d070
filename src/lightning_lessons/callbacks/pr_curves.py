"""Precision-recall curves of a classifier, one per class, in TensorBoard's PR Curves dashboard."""

import lightning as L
import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from lightning_lessons.callbacks.tensorboard import tensorboard_writer


class PRCurves(L.Callback):
    """After each validation, one curve per class (`pr_curve/<class>`): precision against recall as
    the threshold on that class's softmax probability goes from 0 to 1, one class against the rest.

    A forward hook takes the logits of validation batches into per-class counts in `num_thresholds`
    probability buckets: nothing grows with the split, and processes just sum their counts.
    """

    def __init__(self, num_thresholds: int = 127) -> None:
        self.num_thresholds = num_thresholds
        self._hook: RemovableHandle | None = None
        self._logits: Tensor | None = None
        self._counts: Tensor | None = None  # classes x (negatives, positives) x thresholds

    def _keep_logits(self, module: nn.Module, inputs: object, output: Tensor) -> None:
        self._logits = output

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._counts = None
            self._hook = pl_module.net.register_forward_hook(self._keep_logits)

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: object,
        batch: tuple[Tensor, ...],
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._hook is None or self._logits is None:
            return
        probabilities = self._logits.detach().float().softmax(dim=1)
        self._logits = None
        classes, steps = probabilities.shape[1], self.num_thresholds
        if self._counts is None:
            self._counts = torch.zeros(classes, 2, steps, dtype=torch.long, device=probabilities.device)
        buckets = (probabilities * (steps - 1)).floor().long().clamp_(0, steps - 1)
        positive = (batch[1].unsqueeze(1) == torch.arange(classes, device=buckets.device)).long()
        cell = (torch.arange(classes, device=buckets.device) * 2 + positive) * steps + buckets
        self._counts += torch.bincount(cell.flatten(), minlength=classes * 2 * steps).view(classes, 2, steps)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._hook is None:
            return
        self._hook.remove()
        self._hook = None
        if self._counts is None:
            return
        counts = (
            trainer.strategy.reduce(self._counts, reduce_op="sum") if trainer.world_size > 1 else self._counts
        )
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        names = getattr(trainer.datamodule, "class_names", None)
        # At threshold bucket t: the examples whose probability falls in bucket t or above are positive.
        above = counts.flip(-1).cumsum(-1).flip(-1).double().cpu()
        for label, (false_pos, true_pos) in enumerate(above):
            false_neg, true_neg = true_pos[0] - true_pos, false_pos[0] - false_pos
            writer.add_pr_curve_raw(
                f"pr_curve/{names[label] if names else label}",
                true_positive_counts=true_pos,
                false_positive_counts=false_pos,
                true_negative_counts=true_neg,
                false_negative_counts=false_neg,
                precision=true_pos / (true_pos + false_pos).clamp(min=1e-7),
                recall=true_pos / (true_pos + false_neg).clamp(min=1e-7),
                global_step=trainer.global_step,
                num_thresholds=self.num_thresholds,
            )
