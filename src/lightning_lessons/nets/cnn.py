"""The notes' MNIST convolutional classifier (V1)."""

from __future__ import annotations

from torch import Tensor, nn


class MNISTConvNet(nn.Module):
    """`Conv(1,64) -> ReLU -> Conv(64,128) -> ReLU -> MaxPool(2) -> Linear(14*14*128, 1024) -> ReLU ->
    Dropout(0.5) -> Linear(1024, 10)`, 3x3 kernels with stride 1 and padding 1, exactly as the notes.

    `features` and `classifier` are separate so a later lesson can transfer the convolutional part.
    """

    def __init__(self, num_classes: int = 10, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 128, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(14 * 14 * 128, 1024),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(1024, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
