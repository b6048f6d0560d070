"""TensorBoard's Custom Scalars layout: several curves in one chart, e.g. training and validation loss."""

from collections.abc import Mapping, Sequence
from weakref import WeakKeyDictionary

import lightning as L
from torch.utils.tensorboard import SummaryWriter

from lightning_lessons.callbacks.tensorboard import tensorboard_writer

_LAYOUTS: WeakKeyDictionary[SummaryWriter, dict[str, dict[str, list]]] = WeakKeyDictionary()


def add_layout_charts(writer: SummaryWriter, category: str, charts: Mapping[str, Sequence[str]]) -> None:
    """Add multi-line charts (title: tag regexes) to the run's Custom Scalars layout under `category`.
    TensorBoard shows the last layout written, so each call rewrites the whole layout: none is lost."""
    layout = _LAYOUTS.setdefault(writer, {})
    layout.setdefault(category, {}).update(
        {title: ["Multiline", list(tags)] for title, tags in charts.items()}
    )
    writer.add_custom_scalars(layout)


class ScalarsLayout(L.Callback):
    """One chart per quantity with its training and validation curves together (Custom Scalars tab),
    so over- and under-fitting show at a glance. `charts` maps a chart's title to the regular
    expressions of the tags it draws, e.g. `loss: ["^(train|val)/loss$"]`."""

    def __init__(self, charts: Mapping[str, Sequence[str]], category: str = "train and validation") -> None:
        super().__init__()
        self.charts = {title: list(tags) for title, tags in charts.items()}
        self.category = category

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is not None:
            add_layout_charts(writer, self.category, self.charts)
