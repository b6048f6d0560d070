"""TensorBoard view of a denoising lesson: noisy input, reconstruction and clean image, side by side."""

import lightning as L
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio

from lightning_lessons.callbacks.plots import image_rows_figure
from lightning_lessons.callbacks.tensorboard import tensorboard_writer


class DenoisingFigures(L.Callback):
    """After each validation and after testing: rows noisy / denoised / clean for the first
    `num_images` images of the split (`denoising/<split>`), each row with its mean PSNR. Evaluation
    noise is fixed (`NoisyMNISTDataModule`), so from figure to figure only the reconstruction changes.
    """

    def __init__(self, num_images: int = 16) -> None:
        super().__init__()
        self.num_images = num_images

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None or trainer.sanity_checking:
            return
        noisy, clean = (t[: self.num_images] for t in trainer.datamodule.splits[split])
        denoised = pl_module.predict(noisy.to(pl_module.device)).float().cpu().clamp(0, 1)

        def psnr(images: Tensor) -> float:
            return float(peak_signal_noise_ratio(images, clean, data_range=1.0, dim=(1, 2, 3)))

        rows = [
            (f"noisy\n{psnr(noisy):.1f} dB", noisy[:, 0]),
            (f"denoised\n{psnr(denoised):.1f} dB", denoised[:, 0]),
            ("clean", clean[:, 0]),
        ]
        when = f"validation images, epoch {trainer.current_epoch + 1}" if split == "val" else "test images"
        title = f"{when} (PSNR against the clean image)"
        writer.add_figure(f"denoising/{split}", image_rows_figure(rows, title), trainer.global_step)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._draw(trainer, pl_module, "val")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._draw(trainer, pl_module, "test")
