"""What the TensorBoard extras write, read back with TensorBoard's own readers: the Custom Scalars
layout, the model graph, PR curves per class, and the Projector's embeddings with labels and sprites."""

import pytest
from conftest import MNIST_SMALL, events, lesson_config, write_tiny_mnist
from google.protobuf import text_format
from PIL import Image
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import metadata as layout_metadata
from tensorboard.plugins.pr_curve import metadata as pr_metadata
from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig
from tensorboard.plugins.projector.projector_plugin import _read_tensor_tsv_file

from lightning_lessons.callbacks import PRCurves
from lightning_lessons.train import train

QUIET = "callbacks.progress=null"
R3_SHORT = ("epochs=40", QUIET)
MNIST_TINY = (*MNIST_SMALL, "trainer.max_epochs=1", "callbacks.predictions.num_images=8", QUIET)
DIGITS = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four"]
DIGITS += ["5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]  # torchvision's MNIST.classes
OFF = ("callbacks.scalars_layout=null", "callbacks.model_graph=null", "callbacks.pr_curves=null")


def layout(run_dir) -> dict[str, dict[str, list[str]]]:
    """The run's Custom Scalars layout as TensorBoard shows it: the last one written."""
    content = events(run_dir).Tensors(layout_metadata.CONFIG_SUMMARY_TAG)[-1].tensor_proto.string_val[0]
    proto = layout_pb2.Layout.FromString(content)
    return {
        category.title: {chart.title: list(chart.multiline.tag) for chart in category.chart}
        for category in proto.category
    }


def pr_curves(run_dir) -> dict[str, object]:
    """The last PR curve of each tag: rows TP, FP, TN, FN, precision, recall over the thresholds."""
    from tensorboard.util import tensor_util

    accumulator = events(run_dir)
    tags = accumulator.PluginTagToContent(pr_metadata.PLUGIN_NAME)
    return {tag: tensor_util.make_ndarray(accumulator.Tensors(tag)[-1].tensor_proto) for tag in tags}


def projector(run_dir) -> dict[str, object]:
    config = ProjectorConfig()
    text_format.Parse((run_dir / "projector_config.pbtxt").read_text(), config)
    # SummaryWriter.add_embedding names each one <tag>:<global step>
    return {embedding.tensor_name.split(":")[0]: embedding for embedding in config.embeddings}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tb_more")
    return write_tiny_mnist(write_tiny_mnist(root / "data"), folder="FashionMNIST")


@pytest.fixture(scope="module")
def v1_run(data, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("v1") / "run"
    train(lesson_config("mnist_cnn", run_dir, f"paths.data_dir={data}", *MNIST_TINY))
    return run_dir


def test_regression_layout_keeps_parameter_charts_beside_train_and_val(tmp_path):
    run_dir = tmp_path / "r3"
    train(lesson_config("multifeature_regression_scratch", run_dir, *R3_SHORT))
    charts = layout(run_dir)
    assert charts["train and validation"] == {"loss": ["^(train|val)/loss(_scratch)?$"]}
    assert charts["parameters"]["weight[2]"] == [r"^params/weight\[2\]$", r"^params/weight\[2\]_target$"]
    scalars = set(events(run_dir).Tags()["scalars"])
    assert {"train/loss", "val/loss", "params/weight[2]", "params/weight[2]_target"} <= scalars
    graph = events(run_dir).Graph()
    ops = {node.op for node in graph.node}
    assert "aten::matmul" in ops and "aten::add" in ops, ops


def test_v1_writes_train_val_charts_graph_and_a_pr_curve_per_class(v1_run):
    assert layout(v1_run)["train and validation"] == {
        "loss": ["^(train|val)/loss(_scratch)?$"],
        "acc": ["^(train|val)/acc(_scratch)?$"],
    }
    names = {node.name for node in events(v1_run).Graph().node}
    assert any("MNISTConvNet/Sequential[features]" in name for name in names), sorted(names)[:20]
    curves = pr_curves(v1_run)
    assert sorted(curves) == sorted(f"pr_curve/{name}" for name in DIGITS)
    for tag, (tp, fp, tn, fn, _, recall) in curves.items():
        # At threshold 0 every validation image is called positive: all 20 counted, recall is 1.
        assert tp[0] + fp[0] == 20 and fn[0] == 0 and tn[0] == 0 and recall[0] == (tp[0] > 0), tag
        assert (recall[:-1] >= recall[1:]).all() and (tp + fn == tp[0]).all(), tag
    assert sum(tp[0] for tp, *_ in curves.values()) == 20  # each image is a positive of one class


def test_v1_projector_has_penultimate_activations_labels_and_sprite(v1_run):
    embedding = projector(v1_run)["net.classifier.2"]
    points = _read_tensor_tsv_file(str(v1_run / embedding.tensor_path))
    assert points.shape == (40, 1024)  # every test image of tiny MNIST
    assert (points >= 0).all() and points.any()  # after a ReLU
    labels = (v1_run / embedding.metadata_path).read_text().splitlines()
    assert len(labels) == 40 and len(set(labels)) == 10 and labels[:10] == DIGITS
    assert not embedding.tensor_path.startswith("/") and not embedding.sprite.image_path.startswith("/")
    sprite = Image.open(v1_run / embedding.sprite.image_path).convert("L")
    assert list(embedding.sprite.single_image_dim) == [28, 28] and sprite.size == (7 * 28, 7 * 28)
    # Tiny digit k is a bright block at a place of its own: the sprite shows the real images.
    first = sprite.crop((0, 0, 28, 28))
    assert first.getpixel((4, 4)) == 255 and first.getpixel((4, 20)) < 60


@pytest.mark.parametrize("lesson, width", [("denoise_mlp", 32), ("denoise_conv", 128 * 7 * 7)])
def test_autoencoder_code_in_the_projector_labelled_by_digit(data, tmp_path, lesson, width):
    run_dir = tmp_path / lesson
    overrides = (*MNIST_SMALL, "trainer.max_epochs=1", "callbacks.denoising.num_images=4", QUIET)
    train(lesson_config(lesson, run_dir, f"paths.data_dir={data}", *overrides))
    embedding = projector(run_dir)["net.encoder"]
    assert _read_tensor_tsv_file(str(run_dir / embedding.tensor_path)).shape == (40, width)
    labels = (run_dir / embedding.metadata_path).read_text().splitlines()
    assert labels == DIGITS * 4  # tiny MNIST's test digits are 0, 1, ..., 9 in turn
    assert layout(run_dir)["train and validation"]["psnr"] == ["^val/psnr(_noisy)?$"]


def test_switched_off_they_write_nothing(v1_run, data, tmp_path):
    run_dir = tmp_path / "off"
    train(
        lesson_config(
            "mnist_cnn", run_dir, f"paths.data_dir={data}", *MNIST_TINY, *OFF, "callbacks.embedding=null"
        )
    )
    accumulator = events(run_dir)
    tags = accumulator.Tags()
    assert not any(tag.startswith("pr_curve/") for tag in tags["tensors"]), tags["tensors"]
    assert layout_metadata.CONFIG_SUMMARY_TAG not in tags["tensors"] and not tags["graph"]
    assert {"train/loss", "val/acc"} <= set(tags["scalars"])  # the run itself logged as before
    assert not (run_dir / "projector_config.pbtxt").exists()


def test_t1_projector_shows_transferred_and_scratch_networks_side_by_side(v1_run, data, tmp_path):
    run_dir = tmp_path / "t1"
    source = v1_run / "checkpoints" / "best.ckpt"
    few_labels = ("data.archive_dir=null", "data.labels_per_class=4", "data.batch_size=40")
    train(
        lesson_config(
            "transfer_fashion",
            run_dir,
            f"paths.data_dir={data}",
            f"model.pretrained.checkpoint={source}",
            *MNIST_TINY,
            *few_labels,
        )
    )
    embeddings = projector(run_dir)
    assert sorted(embeddings) == ["net.classifier.2", "scratch.classifier.2"]
    transferred, scratch = (
        _read_tensor_tsv_file(str(run_dir / embeddings[name].tensor_path)) for name in sorted(embeddings)
    )
    assert transferred.shape == scratch.shape == (40, 1024)
    assert abs(transferred - scratch).max() > 1e-3  # two networks, two representations
    labels = (run_dir / embeddings["scratch.classifier.2"].metadata_path).read_text().splitlines()
    assert labels[:3] == ["T-shirt/top", "Trouser", "Pullover"]  # Fashion-MNIST's class names
    assert len(pr_curves(run_dir)) == 10


def test_a_pr_curve_holds_precision_and_recall_of_the_counted_probabilities(tmp_path):
    """PRCurves writes, through add_pr_curve_raw, each class's precision and recall as the threshold
    on its probability rises: counts of 3 negatives and 2 positives give the curve by hand."""
    import numpy as np
    import torch
    from lightning.pytorch.loggers import TensorBoardLogger
    from tensorboard.util import tensor_util

    callback = PRCurves(num_thresholds=4)
    counts = torch.zeros(1, 2, 4, dtype=torch.long)  # one class: negatives, positives per bucket
    counts[0, 0] = torch.tensor([2, 1, 0, 0])  # negatives at probabilities in buckets 0 and 1
    counts[0, 1] = torch.tensor([0, 0, 1, 1])  # positives in buckets 2 and 3
    callback._counts, callback._hook = counts, torch.nn.Identity().register_forward_hook(lambda *a: None)
    logger = TensorBoardLogger(tmp_path, name="", version="")

    class Trainer:  # what the hook reads of a Trainer: a real TensorBoard logger
        world_size, global_step, datamodule = 1, 7, None
        is_global_zero, loggers = True, [logger]

    callback.on_validation_epoch_end(Trainer(), None)
    logger.experiment.close()
    (event,) = events(tmp_path).Tensors("pr_curve/0")
    rows = tensor_util.make_ndarray(event.tensor_proto)
    assert event.step == 7 and rows.shape == (6, 4)
    true_pos, false_pos, _, _, precision, recall = rows
    assert np.array_equal(true_pos, [2, 2, 2, 1]) and np.array_equal(false_pos, [3, 1, 0, 0])
    assert np.allclose(precision, [0.4, 2 / 3, 1, 1]) and np.allclose(recall, [1, 1, 1, 0.5])
