"""The lesson's network in TensorBoard's Graphs dashboard."""

import warnings

import lightning as L

from lightning_lessons.callbacks.tensorboard import tensorboard_writer


class ModelGraph(L.Callback):
    """The plain network (`pl_module.net`, not the LightningModule), traced once at fit start on one
    training example, so the graph shows the lesson's own layers as a few named boxes."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        example = trainer.datamodule.splits["train"][0][:1].to(pl_module.device)
        with warnings.catch_warnings():
            # TensorBoard's graph comes from `torch.jit.trace`, which PyTorch now marks as deprecated.
            warnings.filterwarnings(
                "ignore", message=r".*torch\.jit\.trace.* is deprecated", category=FutureWarning
            )
            writer.add_graph(pl_module.net, pl_module.memory_format(example))
