"""The notes' MNIST convolutional classifier (V1)."""

from collections.abc import Sequence

from torch import Tensor, nn


class MNISTConvNet(nn.Module):
    """`Conv(1,64) -> ReLU -> Conv(64,128) -> ReLU -> MaxPool(2) -> Linear(14*14*128, 1024) -> ReLU ->
    Dropout(0.5) -> Linear(1024, 10)`, 3x3 kernels with stride 1 and padding 1, exactly as the notes.

    `features` and `classifier` are separate so a later lesson can transfer the convolutional part.
    `channels` and `hidden` exist for the tests: a few thousand weights instead of 25.8 million.
    """

    def __init__(
        self,
        num_classes: int = 10,
        dropout: float = 0.5,
        channels: Sequence[int] = (64, 128),
        hidden: int = 1024,
    ) -> None:
        super().__init__()
        first, second = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, first, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.Conv2d(first, second, kernel_size=3, stride=1, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(14 * 14 * second, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
