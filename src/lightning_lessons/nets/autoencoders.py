"""The notes' denoising autoencoders (D1, D2): an `encoder` and a `decoder`, images in and out."""

from collections.abc import Sequence

from torch import Tensor, nn

from lightning_lessons.nets.mlp import MLP


class DenseAutoencoder(nn.Module):
    """D1: `784 -> 128 -> ReLU -> 64 -> ReLU -> 32 -> ReLU`, then `32 -> 64 -> ReLU -> 128 -> ReLU -> 784`.

    It flattens the image itself and returns the input's shape, so D1 and D2 share one training module.
    """

    def __init__(self, in_features: int = 784, widths: Sequence[int] = (128, 64, 32)) -> None:
        super().__init__()
        *hidden, code = widths
        self.encoder = nn.Sequential(*MLP(in_features, hidden, code), nn.ReLU())
        self.decoder = MLP(code, list(reversed(hidden)), in_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x.flatten(1))).view_as(x)


class ConvAutoencoder(nn.Module):
    """D2, exactly as the notes: `Conv(1,64) -> ReLU -> MaxPool(2) -> Conv(64,128) -> ReLU -> MaxPool(2)`,
    then `Upsample(2) -> Conv(128,64) -> ReLU -> Upsample(2) -> Conv(64,1)`; 3x3 kernels, stride 1,
    padding 1, nearest-neighbour upsampling. The 28x28 image is a 128 x 7 x 7 code in between.
    """

    def __init__(self, channels: int = 1) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(64, 128, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.decoder = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(128, 64, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(64, channels, kernel_size=3, stride=1, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))
