"""A network's learned representation of images in TensorBoard's Projector (PCA, t-SNE, UMAP)."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import numpy as np
import torch
from google.protobuf import text_format
from PIL import Image
from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig
from torch import Tensor

from lightning_lessons.callbacks.tensorboard import tensorboard_writer

CONFIG_FILE = "projector_config.pbtxt"  # where TensorBoard's projector looks, in each run's folder


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


def sprite(pictures: Tensor) -> Image.Image:
    """Grey `N x 1 x H x W` pictures in [0, 1], row by row in one square image, as the projector wants."""
    count, _, height, width = pictures.shape
    side = math.ceil(math.sqrt(count))
    canvas = torch.zeros(side * side, height, width)
    canvas[:count] = pictures[:, 0]
    canvas = canvas.view(side, side, height, width).permute(0, 2, 1, 3).reshape(side * height, side * width)
    return Image.fromarray(canvas.mul(255).round().byte().numpy(), mode="L")


def write_embedding(run_dir: Path, name: str, points: Tensor, labels: list[str], pictures: Tensor) -> None:
    """Write `points` (one row per image) with their labels and sprite under `<run_dir>/projector/<name>/`
    and list them in the run's projector config (by paths relative to the run folder), replacing an
    embedding of the same name."""
    folder = Path("projector") / name
    (run_dir / folder).mkdir(parents=True, exist_ok=True)
    np.savetxt(run_dir / folder / "tensors.tsv", points.numpy(), fmt="%.5g", delimiter="\t")
    (run_dir / folder / "metadata.tsv").write_text("".join(f"{label}\n" for label in labels))
    config = ProjectorConfig()
    if (run_dir / CONFIG_FILE).is_file():
        text_format.Parse((run_dir / CONFIG_FILE).read_text(), config)
    kept = [embedding for embedding in config.embeddings if embedding.tensor_name != name]
    del config.embeddings[:]
    config.embeddings.extend(kept)
    sprite(pictures).save(run_dir / folder / "sprite.png")
    embedding = config.embeddings.add(
        tensor_name=name,
        tensor_path=str(folder / "tensors.tsv"),
        metadata_path=str(folder / "metadata.tsv"),
        tensor_shape=list(points.shape),
    )
    embedding.sprite.image_path = str(folder / "sprite.png")
    embedding.sprite.single_image_dim.extend(pictures.shape[-2:])
    (run_dir / CONFIG_FILE).write_text(text_format.MessageToString(config))


class EmbeddingProjector(L.Callback):
    """Once, at the end of fit: what `layers` make of the first `num_images` images of `split`, in the
    Projector, each point labelled with its class and drawn as its image (a sprite), so PCA, t-SNE or
    UMAP show whether the classes fall apart into clusters.

    `layers` are submodule paths of the LightningModule: V1's penultimate activations are
    `net.classifier.2` (the ReLU after `Linear(25088, 1024)`), an autoencoder's code is `net.encoder`,
    and T1 lists both networks, `net` (transferred) and `scratch`. The data module supplies the images
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
            points = layer_outputs(pl_module, layer, images)
            write_embedding(
                Path(writer.log_dir), layer, points, [names[i] for i in labels.tolist()], pictures
            )
