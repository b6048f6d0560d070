"""MNIST images paired with a noisy copy, for the denoising autoencoders (D1, D2)."""

import torch
from torch import Tensor

from lightning_lessons.data.base import Split
from lightning_lessons.data.mnist import MNISTDataModule


class NoisyMNISTDataModule(MNISTDataModule):
    """Batches of `(noisy, clean)` MNIST images, `noisy = clamp(clean + sigma * randn, 0, 1)`.

    Clean images stay in [0, 1] (no `Normalize`), the range the clamp assumes. Training noise is added
    on the device in `on_after_batch_transfer`, fresh every epoch. Evaluation noise is seeded per image
    (`noise_seed`, not the run's `seed`), so every run is scored on the same noisy images.
    """

    def __init__(
        self,
        data_dir: str = "data/",
        download: bool = True,
        val_size: int = 5000,
        batch_size: int = 64,
        eval_batch_size: int = 1000,
        sigma: float = 0.5,
        noise_seed: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__(
            data_dir=data_dir,
            download=download,
            val_size=val_size,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            mean=0.0,
            std=1.0,
            seed=seed,
        )
        self.sigma = sigma
        self.noise_seed = noise_seed
        self.labels: dict[str, Tensor] = {}  # the digits of the noisy splits, which hold images alone

    def corrupt(self, clean: Tensor, noise: Tensor) -> Tensor:
        """The notes' noisy copy: `clamp(clean + sigma * noise, 0, 1)`."""
        return clean.add(noise, alpha=self.sigma).clamp_(0, 1)

    def seeded_noise(self, image_numbers: Tensor, image_shape: torch.Size) -> Tensor:
        """Standard normal noise per image, seeded by `noise_seed` and the image's number.

        A CPU generator keeps 32 bits of its seed: `noise_seed * 2**17 + number` stays unique in those
        for MNIST's 70,000 images and any `noise_seed` below 32,768."""
        noise = torch.empty(len(image_numbers), *image_shape)
        generator = torch.Generator()
        for row, number in enumerate(image_numbers.tolist()):
            generator.manual_seed((self.noise_seed * 2**17 + number) % 2**32)
            torch.randn(noise.shape[1:], generator=generator, out=noise[row])
        return noise

    def build_splits(self) -> dict[str, Split]:
        splits = super().build_splits()
        # Image numbers: training-file images by their index, test-file images after all of those.
        train_file_size = len(self.indices["train"]) + len(self.indices["val"])
        numbers = {"val": self.indices["val"], "test": train_file_size + torch.arange(len(splits["test"][0]))}
        pairs: dict[str, Split] = {"train": (splits["train"][0],)}
        for name, image_numbers in numbers.items():
            clean, self.labels[name] = splits[name]
            pairs[name] = (self.corrupt(clean, self.seeded_noise(image_numbers, clean.shape[1:])), clean)
        return pairs

    def labelled_images(self, split: str, count: int) -> tuple[Tensor, Tensor, Tensor]:
        """The first `count` noisy images of a split (the network's input), their digits, and the clean
        images (what people recognise)."""
        noisy, clean = (t[:count] for t in self.splits[split])
        return noisy, self.labels[split][: len(noisy)], clean

    def on_after_batch_transfer(self, batch: tuple[Tensor, ...], dataloader_idx: int) -> tuple[Tensor, ...]:
        """A training batch (clean images alone) becomes `(noisy, clean)` with fresh noise."""
        if len(batch) == 1:
            (clean,) = batch
            return self.corrupt(clean, torch.randn_like(clean)), clean
        return batch
