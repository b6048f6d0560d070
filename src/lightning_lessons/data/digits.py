"""Any picture of a digit, prepared the way MNIST's digits were."""

from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torchvision.transforms.functional import pil_to_tensor

from lightning_lessons.errors import DataError


def load_digit(path: str | Path) -> Tensor:
    """A `28 x 28` float image in [0, 1], white digit on black, like an MNIST test image.

    As MNIST's were: fitted into a 20 x 20 box (aspect kept), centred by centre of mass in 28 x 28.
    """
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGBA")
    except FileNotFoundError:
        raise DataError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise DataError(f"cannot read {path} as an image ({error})") from None
    background = Image.new("RGBA", image.size, "white")
    grey = pil_to_tensor(Image.alpha_composite(background, image).convert("L"))[0].float() / 255
    border = torch.cat([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.median() > 0.5:  # dark ink on light paper: make it white on black like MNIST
        grey = 1 - grey
    grey = torch.where(grey > 0.15, grey, torch.zeros_like(grey))
    rows, columns = torch.nonzero(grey, as_tuple=True)
    if len(rows) == 0:
        raise DataError(f"no digit found in {path}: the picture is blank")
    digit = grey[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    scale = 20 / max(digit.shape)
    size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
    digit_image = Image.fromarray((digit * 255).byte().numpy()).resize(size, Image.Resampling.LANCZOS)
    digit = pil_to_tensor(digit_image)[0].float() / 255
    mass = digit.sum()
    centre_row = (digit.sum(dim=1) * torch.arange(digit.shape[0])).sum() / mass
    centre_column = (digit.sum(dim=0) * torch.arange(digit.shape[1])).sum() / mass
    top = min(max(round(14 - float(centre_row)), 0), 28 - digit.shape[0])
    left = min(max(round(14 - float(centre_column)), 0), 28 - digit.shape[1])
    field = torch.zeros(28, 28)
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field
