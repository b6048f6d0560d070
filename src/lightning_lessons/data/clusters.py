"""Labelled 2-D Gaussian clusters for the classification lessons (C1, C2)."""

from collections.abc import Mapping
from typing import Any

import torch

from lightning_lessons.data.base import Split, TensorDataModule
from lightning_lessons.errors import ConfigError


class GaussianClustersDataModule(TensorDataModule):
    """Cluster `k` is `torch.normal(means[k] * ones(n, 2), stds[k])` with label `k`, as in the notes.

    Training has the notes' `sizes`; validation and test draw fresh points, each split from its own
    seeded generator."""

    def __init__(
        self,
        means: list[float],
        stds: list[float],
        sizes: list[int],
        n_val: int = 100,
        n_test: int = 100,
        batch_size: int | None = None,
        steps_per_epoch: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, steps_per_epoch=steps_per_epoch)
        self.classes_in({"means": means, "stds": stds, "sizes": sizes})
        self.means, self.stds, self.sizes = list(means), list(stds), list(sizes)
        self.per_cluster = {"train": None, "val": n_val, "test": n_test}

    @staticmethod
    def classes_in(settings: Mapping[str, Any]) -> int:
        """Its number of classes, one a cluster (checked before a run, `schema`); ConfigError where the
        per-cluster lists differ in length, or make one class: every label 0 leaves nothing to learn."""
        means, stds, sizes = (list(settings[key]) for key in ("means", "stds", "sizes"))
        if not len(means) == len(stds) == len(sizes):
            raise ConfigError(
                f"data.means, data.stds and data.sizes need one entry per cluster, "
                f"got {len(means)}, {len(stds)} and {len(sizes)}"
            )
        if len(means) == 1:
            raise ConfigError(
                f"data.means={means} is one cluster, so one class: nothing to classify (every label is 0, "
                "any model that always answers 0 is right); give two clusters or more"
            )
        return len(means)

    @property
    def num_classes(self) -> int:
        return len(self.means)

    def build_splits(self) -> dict[str, Split]:
        splits = {}
        for index, (name, count) in enumerate(self.per_cluster.items()):
            generator = torch.Generator().manual_seed(self.seed + index)
            sizes = self.sizes if count is None else [count] * self.num_classes
            points = [
                torch.normal(mean * torch.ones(n, 2), std, generator=generator)
                for mean, std, n in zip(self.means, self.stds, sizes, strict=True)
            ]
            labels = [torch.full((n,), label, dtype=torch.long) for label, n in enumerate(sizes)]
            splits[name] = (torch.cat(points), torch.cat(labels))
        return splits
