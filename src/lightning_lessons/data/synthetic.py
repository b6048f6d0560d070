"""Every regression data set of lessons R1-R5, generated from one seed."""

from typing import Literal

import torch
from torch import Tensor

from lightning_lessons.data.base import Split, TensorDataModule
from lightning_lessons.errors import ConfigError

Function = Literal["linear", "cubic", "random"]
Inputs = Literal["linspace", "rand", "randn"]
Noise = Literal["rand", "randn", "none"]


class SyntheticRegressionDataModule(TensorDataModule):
    """`y = f(x) + noise_scale * noise`, or the notes' own points when `x` and `y` are given.

    Training is exactly the notes' data set; validation and test are fresh draws, so the lesson still
    has held-out data. Each split has its own seeded generator: resizing one never changes another.
    `outliers` shifts that many training points by `outlier_shift` (the losses study: MSE against L1).
    """

    def __init__(
        self,
        function: Function = "linear",
        n_samples: int = 100,
        n_features: int = 1,
        n_outputs: int = 1,
        inputs: Inputs = "rand",
        low: float = 0.0,
        high: float = 1.0,
        weights: list[float] | None = None,
        bias: float = 0.0,
        noise: Noise = "none",
        noise_scale: float = 0.0,
        x: list[float] | None = None,
        y: list[float] | None = None,
        n_val: int = 0,
        n_test: int = 0,
        outliers: int = 0,
        outlier_shift: float = 20.0,
        batch_size: int | None = None,
        steps_per_epoch: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, steps_per_epoch=steps_per_epoch)
        if (x is None) != (y is None) or (x is not None and len(x) != len(y)):
            raise ConfigError("data.x and data.y must be given together and have the same length")
        if function == "linear" and x is None and weights is not None and len(weights) != n_features:
            raise ConfigError(f"data.weights has {len(weights)} values but data.n_features is {n_features}")
        self.function = function
        self.n_samples = n_samples
        self.n_features = n_features
        self.n_outputs = n_outputs
        self.inputs = inputs
        self.low, self.high = low, high
        self.weights = list(weights) if weights is not None else [1.0] * n_features
        self.bias = bias
        self.noise, self.noise_scale = noise, noise_scale
        self.points = None if x is None else (torch.tensor(x).unsqueeze(1), torch.tensor(y).unsqueeze(1))
        self.sizes = {"train": n_samples, "val": n_val, "test": n_test}
        self.outliers, self.outlier_shift = outliers, outlier_shift

    def build_splits(self) -> dict[str, Split]:
        if self.points is not None:
            return {"train": self.points}
        return {name: self._draw(name, index) for index, name in enumerate(self.sizes)}

    def _draw(self, split: str, index: int) -> Split:
        n = self.sizes[split]
        generator = torch.Generator().manual_seed(self.seed + index)
        x = self._inputs(n, grid=split == "train", generator=generator)
        if self.function == "random":
            return x, torch.randn(n, self.n_outputs, generator=generator)
        clean = x @ torch.tensor(self.weights).unsqueeze(1) + self.bias if self.function == "linear" else x**3
        y = clean + self.noise_scale * self._noise(clean.shape, generator)
        if split == "train" and self.outliers:
            y[torch.randperm(n, generator=generator)[: self.outliers]] += self.outlier_shift
        return x, y

    def _inputs(self, n: int, grid: bool, generator: torch.Generator) -> Tensor:
        shape = (n, self.n_features)
        if self.inputs == "randn":
            return torch.randn(shape, generator=generator)
        if self.inputs == "linspace" and grid:
            return torch.linspace(self.low, self.high, n).unsqueeze(1).expand(shape).contiguous()
        return self.low + (self.high - self.low) * torch.rand(shape, generator=generator)

    def _noise(self, shape: torch.Size, generator: torch.Generator) -> Tensor:
        if self.noise == "rand":
            return torch.rand(shape, generator=generator)
        if self.noise == "randn":
            return torch.randn(shape, generator=generator)
        return torch.zeros(shape)

    @property
    def target_parameters(self) -> dict[str, float] | None:
        """The weights and bias a perfect linear fit learns, named like a linear layer's parameters.

        The noise's mean folds into the bias (`1.2 * rand` adds 0.6: why R2 learns a bias near 0.6);
        the notes' own points get their least-squares line. None where no linear answer exists."""
        if self.points is not None:
            x, y = self.points
            design = torch.cat([x, torch.ones_like(x)], dim=1).double()
            slope, intercept = torch.linalg.lstsq(design, y.double()).solution.flatten().tolist()
            return {"weight": slope, "bias": intercept}
        if self.function != "linear":
            return None
        noise_mean = {"rand": 0.5, "randn": 0.0, "none": 0.0}[self.noise] * self.noise_scale
        names = ["weight"] if len(self.weights) == 1 else [f"weight[{i}]" for i in range(len(self.weights))]
        return {**dict(zip(names, self.weights, strict=True)), "bias": self.bias + noise_mean}
