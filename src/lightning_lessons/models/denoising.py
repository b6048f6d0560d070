"""Denoising autoencoders (D1, D2): reconstruct the clean image from its noisy copy."""

from torch import Tensor, nn
from torchmetrics import MeanSquaredError, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from lightning_lessons.models.base import LessonModule, OptimizerFactory, SchedulerFactory

STAGES = ("val", "test")
QUALITY = ("mse", "psnr", "ssim")


def image_quality(stage: str, postfix: str = "") -> MetricCollection:
    """MSE, PSNR (dB, averaged over images) and SSIM against the clean image, for images in [0, 1]."""
    metrics = (
        MeanSquaredError(),
        PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3)),
        StructuralSimilarityIndexMeasure(data_range=1.0),
    )
    return MetricCollection(dict(zip(QUALITY, metrics, strict=True)), prefix=f"{stage}/", postfix=postfix)


class DenoisingModule(LessonModule):
    """Any autoencoder trained on `(noisy, clean)` batches to output the clean image (MSE by default).

    Evaluation scores the noisy input too (`val/psnr_noisy`, ...): the gap is what the network learned.
    """

    EVAL_METRICS = ("loss", *QUALITY, *(f"{name}_noisy" for name in QUALITY))

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerFactory | None = None,
        loss: nn.Module | None = None,
        channels_last: bool = False,
        scheduler: SchedulerFactory | None = None,
    ) -> None:
        super().__init__(net, loss, optimizer, channels_last, scheduler)
        self.quality = nn.ModuleDict(
            {f"{stage}{kind}": image_quality(stage, kind) for stage in STAGES for kind in ("", "_noisy")}
        )

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        noisy, clean = batch
        loss = self.loss_fn(self(noisy), clean)
        if self.logging_step():
            self.log("train/loss", loss, prog_bar=True, batch_size=len(clean))
        return loss

    def evaluate(self, batch: tuple[Tensor, ...], stage: str) -> Tensor:
        noisy, clean = batch
        baseline = self.quality[f"{stage}_noisy"]
        baseline.update(noisy, clean)
        self.log_dict(baseline, batch_size=len(clean))
        return super().evaluate(batch, stage)

    def update_metrics(self, output: Tensor, target: Tensor, stage: str) -> None:
        reconstruction = self.quality[stage]
        reconstruction.update(output, target)
        self.log_dict(reconstruction, batch_size=len(target))
