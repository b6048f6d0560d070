"""A network's learned representation of images in TensorBoard's Projector (PCA, t-SNE, UMAP)."""

import lightning as L
import torch
from torch import Tensor

from lightning_lessons.callbacks.tensorboard import tensorboard_writer


@torch.no_grad()
def layer_outputs(pl_module: L.LightningModule, layer: str, images: Tensor, chunk: int = 500) -> Tensor:
    """The output of submodule `layer` (e.g. `net.classifier.2`), one flattened row per image, from its
    top-level network (`net`, `scratch`) run in evaluation mode."""
    network = pl_module.get_submodule(layer.split(".")[0])
    rows: list[Tensor] = []
    handle = pl_module.get_submodule(layer).register_forward_hook(
        lambda module, inputs, output: rows.append(output.flatten(1).float().cpu())
    )
    was_training = pl_module.training
    pl_module.eval()
    try:
        for part in images.split(chunk):
            network(pl_module.memory_format(part.to(pl_module.device)))
    finally:
        handle.remove()
        pl_module.train(was_training)
    return torch.cat(rows)


class EmbeddingProjector(L.Callback):
    """Once, at the end of fit: what `layers` make of the first `num_images` images of `split`, in the
    Projector, each point labelled and drawn as its image, so PCA, t-SNE or UMAP show whether the
    classes fall apart into clusters.

    `layers` are submodule paths of the LightningModule, e.g. `net.classifier.2` (V1's penultimate
    activations) or `net.encoder` (an autoencoder's code). The data module supplies the images
    (`labelled_images`) and the label names (`class_names`).
    """

    def __init__(self, layers: list[str], num_images: int = 2000, split: str = "test") -> None:
        super().__init__()
        self.layers = list(layers)
        self.num_images = num_images
        self.split = split

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is None:
            return
        datamodule = trainer.datamodule
        images, labels, pictures = datamodule.labelled_images(self.split, self.num_images)
        names = datamodule.class_names
        for layer in self.layers:
            writer.add_embedding(
                layer_outputs(pl_module, layer, images),
                metadata=[names[i] for i in labels.tolist()],
                label_img=pictures,
                global_step=trainer.global_step,
                tag=layer,
            )
