"""The run's TensorBoard event file: rows of scalars and PNG frames written cheaply, and its writer for
the callbacks that draw."""

from __future__ import annotations

import struct
import zlib

import lightning as L
import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from tensorboard.compat.proto.summary_pb2 import Summary
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter


class LessonTensorBoardLogger(TensorBoardLogger):
    """Lightning's TensorBoardLogger (same arguments) writing a row of scalars as one event holding them
    all, not one event each: ~40 us a row of three instead of ~120 (C1 writes 200 rows in a 0.35 s run).
    TensorBoard reads both alike."""

    def __init__(self, *args: object, prefix: str = "", **kwargs: object) -> None:
        super().__init__(*args, prefix=prefix, **kwargs)
        self.tag_prefix = f"{prefix}{self.LOGGER_JOIN_CHAR}" if prefix else ""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float | Tensor], step: int | None = None) -> None:
        values = []
        for name, value in metrics.items():
            if isinstance(value, Tensor) and value.numel() == 1:
                value = value.item()
            if not isinstance(value, (int, float)):  # e.g. a dict for add_scalars: Lightning's way
                super().log_metrics(metrics, step)
                return
            values.append(Summary.Value(tag=self.tag_prefix + name, simple_value=value))
        write_summary(self.experiment, values, step)


def png(image: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """A uint8 image as PNG: `H x W x 3` RGB, or `H x W` indices into `palette` (`N x 3`, N <= 256), rows
    unfiltered, zlib's fastest level. ~0.7 ms for a figure of 400 x 290 in RGB where PIL's fastest takes
    ~2.4 (it tries a row filter per row), and no larger: the flat colours of a figure compress as well
    without one. An indexed figure is a third of the bytes to compress (~0.2 ms)."""
    indexed = palette is not None
    if image.dtype != np.uint8 or image.ndim != (2 if indexed else 3) or image.shape[2:] not in ((), (3,)):
        raise ValueError(
            f"png takes H x W x 3 uint8 images or H x W indices, got {image.shape} {image.dtype}"
        )
    height, width = image.shape[:2]
    rows = np.zeros((height, 1 + image[0].size), dtype=np.uint8)  # each row: filter type 0, then pixels
    rows[:, 1:] = image.reshape(height, -1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    colour_type = 3 if indexed else 2  # palette indices, or RGB; 8 bits, deflate, no interlace
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
    if indexed:
        header += chunk(b"PLTE", np.ascontiguousarray(palette, dtype=np.uint8).tobytes())
    pixels = chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
    return b"\x89PNG\r\n\x1a\n" + header + pixels + chunk(b"IEND", b"")


def add_png(
    writer: SummaryWriter, tag: str, image: np.ndarray, step: int, palette: np.ndarray | None = None
) -> None:
    """`writer.add_image(tag, image, step, dataformats="HWC")` for a uint8 frame (RGB, or indices into
    `palette`), the same event, in ~1 ms or less instead of ~5.5: `png`, and no conversions of an
    image that is already what TensorBoard stores. For the figures redrawn 20 times a run."""
    height, width = image.shape[:2]
    encoded = Summary.Image(
        height=height, width=width, colorspace=3, encoded_image_string=png(image, palette)
    )
    write_summary(writer, [Summary.Value(tag=tag, image=encoded)], step)


def write_summary(writer: SummaryWriter, values: list[Summary.Value], step: int | None) -> None:
    """One event holding `values`, built by the caller in one go: what SummaryWriter's `add_*` methods
    write one value at a time, each through its own conversions (~50-200 us a value)."""
    writer._get_file_writer().add_summary(Summary(value=values), step)


def tensorboard_writer(trainer: L.Trainer) -> SummaryWriter | None:
    """The TensorBoard writer on the main process, or None (another logger, or another rank)."""
    if not trainer.is_global_zero:
        return None
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None
