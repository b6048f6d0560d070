"""What every lesson's data module shares: splits held as tensors, served by `TensorLoader`."""

from abc import abstractmethod

import lightning as L
import torch
from torch import Tensor

from lightning_lessons.data.loader import TensorLoader
from lightning_lessons.errors import DataError

Split = tuple[Tensor, ...]


class TensorDataModule(L.LightningDataModule):
    """A data module whose splits fit in memory as tensors, built once by `build_splits`.

    Moved to the Trainer's device on first use: on a GPU a batch then costs no host-to-device copy."""

    def __init__(
        self,
        batch_size: int | None = None,
        eval_batch_size: int | None = None,
        seed: int = 0,
        steps_per_epoch: int = 1,
    ) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch  # full batch: that many updates a Lightning epoch
        self.eval_batch_size = eval_batch_size or batch_size
        self.seed = seed
        self.splits: dict[str, Split] = {}
        self._device_splits: dict[str, Split] = {}

    @abstractmethod
    def build_splits(self) -> dict[str, Split]:
        """Return the available splits among 'train', 'val' and 'test', each a tuple of tensors."""

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            splits = self.build_splits()
            if not len(splits.get("train", ((),))[0]):
                # Never a "completed" run that trained on nothing.
                raise DataError(
                    f"{type(self).__name__}: the training split is empty with these settings "
                    f"({', '.join(f'{name}: {len(split[0])}' for name, split in splits.items())} samples)"
                )
            self.splits = {name: split for name, split in splits.items() if len(split[0])}

    def keep_fraction(self, fraction: float) -> None:
        """Keep the first `fraction` of every split (at least one sample): `debug=limit` runs the
        whole pipeline on a tenth of the data, full-batch lessons included."""
        self.setup()
        self.splits = {
            name: tuple(t[: max(1, int(len(t) * fraction))] for t in split)
            for name, split in self.splits.items()
        }

    def has_split(self, name: str) -> bool:
        self.setup()
        return name in self.splits

    @property
    def device(self) -> torch.device:
        return self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")

    def split_on_device(self, name: str) -> Split:
        if name not in self._device_splits:
            self._device_splits[name] = tuple(t.to(self.device) for t in self.splits[name])
        return self._device_splits[name]

    def _loader(self, name: str, batch_size: int | None, shuffle: bool) -> TensorLoader | list:
        if not self.has_split(name):
            return []
        trainer = self.trainer
        rank, world_size = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        return TensorLoader(
            self.split_on_device(name),
            batch_size,
            shuffle=shuffle,
            seed=self.seed,
            rank=rank,
            world_size=world_size,
            even=name == "train",
            repeat=self.steps_per_epoch if name == "train" else 1,
        )

    def train_dataloader(self) -> TensorLoader | list:
        # Overfitting a few batches (debug=overfit) means the same batches every epoch.
        overfit = self.trainer is not None and self.trainer.overfit_batches > 0
        return self._loader("train", self.batch_size, shuffle=not overfit)

    def val_dataloader(self) -> TensorLoader | list:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> TensorLoader | list:
        return self._loader("test", self.eval_batch_size, shuffle=False)
