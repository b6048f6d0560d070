"""Plain `torch.nn` networks, free of any training logic."""

from lightning_lessons.nets.autoencoders import ConvAutoencoder, DenseAutoencoder
from lightning_lessons.nets.cnn import MNISTConvNet
from lightning_lessons.nets.linear import ScratchLinear
from lightning_lessons.nets.mlp import MLP
from lightning_lessons.nets.parameters import scalar_parameters
from lightning_lessons.nets.two_layer import TwoLayerNet

__all__ = [
    "MLP",
    "ConvAutoencoder",
    "DenseAutoencoder",
    "MNISTConvNet",
    "ScratchLinear",
    "TwoLayerNet",
    "scalar_parameters",
]
