"""Batches sliced straight out of in-memory tensors."""

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor


class EpochSeed:
    """Stands where a DataLoader keeps its sampler: Lightning calls `set_epoch` on it every epoch."""

    def __init__(self) -> None:
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


class TensorLoader:
    """An iterable of batches cut from tensors that already hold the whole split.

    A `DataLoader` over a `TensorDataset` makes one Python call per sample: over 1 s a step for the
    full-batch lessons' 100,000 points, against 1 ms of arithmetic. Here a mini-batch is one indexing
    operation. A full batch is served `repeat` times an epoch (each one of the notes' epochs), so
    Lightning's per-epoch work comes once per `repeat`. Shuffling is seeded per epoch (`set_epoch`), so
    a resumed run sees the uninterrupted run's order.

    With `world_size > 1` each process takes every `world_size`-th row, like `DistributedSampler`;
    `even=True` (training) wraps around so every process takes as many steps, as DDP needs.
    """

    def __init__(
        self,
        tensors: Sequence[Tensor],
        batch_size: int | None = None,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        even: bool = False,
        repeat: int = 1,
    ) -> None:
        sizes = {len(t) for t in tensors}
        if len(sizes) != 1:
            raise ValueError(f"tensors must have the same length, got {sorted(sizes)}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
        self.tensors = tuple(tensors)
        self.size = sizes.pop()
        self.rank, self.world_size, self.even = rank, world_size, even
        self.share = -(-self.size // world_size) if even else len(range(rank, self.size, world_size))
        self.batch_size = batch_size if batch_size and batch_size < self.share else None
        self.shuffle, self.drop_last, self.seed = shuffle, drop_last, seed
        self.repeat = repeat if self.batch_size is None else 1
        self.sampler = EpochSeed()
        self.batch_sampler = None

    def __len__(self) -> int:
        if self.batch_size is None:
            return self.repeat
        full, rest = divmod(self.share, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def rows(self) -> Tensor | None:
        """This process's rows for the epoch, in order; None for all rows in their stored order."""
        order = None
        if self.shuffle and self.batch_size is not None:  # a full batch is the same in any order
            generator = torch.Generator().manual_seed(self.seed + self.sampler.epoch)
            order = torch.randperm(self.size, generator=generator)
        if self.world_size == 1:
            return order
        order = order if order is not None else torch.arange(self.size)
        if self.even:
            padded = self.share * self.world_size
            order = order.repeat(-(-padded // self.size))[:padded]
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        rows = self.rows()
        if rows is not None:
            rows = rows.to(self.tensors[0].device)
        if self.batch_size is None:
            batch = self.tensors if rows is None else tuple(t[rows] for t in self.tensors)
            for _ in range(self.repeat):
                yield batch
            return
        for index in range(len(self)):
            batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
            picked = batch if rows is None else rows[batch]
            yield tuple(t[picked] for t in self.tensors)
