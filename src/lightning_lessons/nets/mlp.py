"""Fully connected networks built from a list of layer widths."""

from itertools import pairwise
from typing import Literal

from torch import nn

Activation = Literal["relu", "tanh", "sigmoid"]
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class MLP(nn.Sequential):
    """`Linear -> ReLU -> ... -> Linear` through the given hidden widths (no activation at the end).

    R4 is `MLP(1, [20], 1)`. Being an `nn.Sequential`, it prints and indexes like the notes' models.
    `activation` swaps the ReLUs for the notes' other two: the activations study.
    """

    def __init__(
        self, in_features: int, hidden: list[int], out_features: int, activation: Activation = "relu"
    ) -> None:
        widths = [in_features, *hidden, out_features]
        layers: list[nn.Module] = []
        for index, (fan_in, fan_out) in enumerate(pairwise(widths)):
            if index:
                layers.append(ACTIVATIONS[activation]())
            layers.append(nn.Linear(fan_in, fan_out))
        super().__init__(*layers)
