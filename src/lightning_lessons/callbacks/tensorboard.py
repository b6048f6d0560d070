"""Access to the run's TensorBoard writer for callbacks that draw."""

from __future__ import annotations

import io

import lightning as L
import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger
from PIL import Image
from torch.utils.tensorboard import SummaryWriter


def add_png(writer: SummaryWriter, tag: str, image: np.ndarray, step: int) -> None:
    """`writer.add_image(tag, image, step, dataformats="HWC")` for an `H x W x 3` uint8 frame, the same
    event, in ~2 ms instead of ~5.5: PNG's fastest compression (files ~10% larger) and no conversions
    of an image that is already what TensorBoard stores. For the figures redrawn 20 times a run."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    height, width, channels = image.shape
    png = Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=buffer.getvalue()
    )
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=png)]), step)


def tensorboard_writer(trainer: L.Trainer) -> SummaryWriter | None:
    """The TensorBoard writer on the main process, or None (another logger, or another rank)."""
    if not trainer.is_global_zero:
        return None
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None
