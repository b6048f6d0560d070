"""Fashion-MNIST with few labels: the second task of the transfer-learning lesson (T1)."""

import gzip
import shutil
from pathlib import Path
from typing import Literal

import torch
import torchvision
from torchvision import transforms

from lightning_lessons.data.base import Split
from lightning_lessons.data.mnist import IDX_FILES, MNISTDataModule
from lightning_lessons.errors import ConfigError, DataError

DEBIAN_ARCHIVE_DIR = "/usr/share/datasets/fashion-mnist"


class FashionMNISTDataModule(MNISTDataModule):
    """Fashion-MNIST, loaded and split as MNIST, with only `labels_per_class` training images per class.

    Validation and test stay whole: they measure the few-label model. Offline, the files are unpacked
    from Debian's `dataset-fashion-mnist` package (`archive_dir`) when the raw folder lacks them.
    """

    dataset_class = torchvision.datasets.FashionMNIST

    def __init__(
        self,
        data_dir: str = "data/",
        download: bool = True,
        archive_dir: str | None = DEBIAN_ARCHIVE_DIR,
        labels_per_class: int | None = None,
        val_size: int = 5000,
        batch_size: int = 64,
        eval_batch_size: int = 1000,
        mean: float = 0.5,
        std: float = 0.5,
        pipeline: Literal["tensor", "torchvision"] = "tensor",
        num_workers: int = 0,
        pin_memory: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(
            data_dir=data_dir,
            download=download,
            val_size=val_size,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            mean=mean,
            std=std,
            pipeline=pipeline,
            num_workers=num_workers,
            pin_memory=pin_memory,
            seed=seed,
        )
        self.archive_dir = Path(archive_dir) if archive_dir else None
        self.labels_per_class = labels_per_class

    def unpack_archive(self) -> None:
        """Gunzip `<archive_dir>/<name>.gz` into the raw folder for each IDX file the folder lacks."""
        if self.archive_dir is None:
            return
        for name in IDX_FILES:
            target, archive = self.raw_folder / name, self.archive_dir / f"{name}.gz"
            if not target.exists() and archive.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".partial")
                with gzip.open(archive, "rb") as source, partial.open("wb") as unpacked:
                    shutil.copyfileobj(source, unpacked)
                partial.rename(target)

    def dataset(self, train: bool, transform: transforms.Compose | None = None) -> torchvision.datasets.MNIST:
        self.unpack_archive()
        try:
            return super().dataset(train, transform)
        except DataError as error:
            raise DataError(
                f"{error}\nOffline on Debian or Ubuntu: `apt-get install dataset-fashion-mnist` puts them, "
                f"gzipped, in {DEBIAN_ARCHIVE_DIR}, and they are unpacked from there "
                f"(data.archive_dir, now {self.archive_dir})."
            ) from error

    def build_splits(self) -> dict[str, Split]:
        splits = super().build_splits()
        if self.labels_per_class is not None:
            images, labels = splits["train"]
            keep = self.few_labels(labels, self.labels_per_class)
            splits["train"] = (images[keep], labels[keep])
            self.indices["train"] = self.indices["train"][keep]
        return splits

    def few_labels(self, labels: torch.Tensor, per_class: int) -> torch.Tensor:
        """Positions of `per_class` images of every class, drawn at random (seeded), in their order."""
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(self.seed))
        chosen = []
        for label in labels.unique().tolist():
            of_class = order[labels[order] == label]
            if len(of_class) < per_class:
                raise ConfigError(
                    f"data.labels_per_class={per_class}, but class {label} has only {len(of_class)} "
                    "training images"
                )
            chosen.append(of_class[:per_class])
        return torch.cat(chosen).sort().values
