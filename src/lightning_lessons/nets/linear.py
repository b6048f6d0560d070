"""A linear model written with raw parameters, for the from-scratch lessons."""

import torch
from torch import Tensor, nn


class ScratchLinear(nn.Module):
    """`x @ weight + bias` with both initialised by `torch.rand`, as the notes do (R1, R3). R1's
    `w = rand(2)` over `x` stacked with ones is the same model: `w[0]` the weight, `w[1]` the bias."""

    def __init__(self, in_features: int = 1, out_features: int = 1) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.rand(in_features, out_features))
        self.bias = nn.Parameter(torch.rand(out_features))

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight + self.bias
