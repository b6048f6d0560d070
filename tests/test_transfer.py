"""Transfer learning (T1) on tiny IDX files: Fashion-MNIST with few labels, V1's features transferred."""

import gzip
import re

import pytest
import torch
from conftest import MNIST_SMALL, SMALL_CNN, events, lesson_config, write_tiny_mnist

from lightning_lessons.data import DataError, FashionMNISTDataModule
from lightning_lessons.data.mnist import IDX_FILES
from lightning_lessons.experiment import build
from lightning_lessons.models import MissingCheckpointError, PretrainedWeights
from lightning_lessons.train import train

QUIET = "callbacks.progress=null"
NO_CHECKPOINTS = (
    "callbacks.model_checkpoint=null",
    "callbacks.last_checkpoint=null",
    "+trainer.enable_checkpointing=false",
)
TINY = (
    *MNIST_SMALL,
    *SMALL_CNN,
    "data.archive_dir=null",
    "data.labels_per_class=4",
    "data.batch_size=40",  # one step an epoch
    "trainer.max_epochs=2",
    "callbacks.predictions.num_images=8",
    QUIET,
)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """Tiny MNIST and Fashion-MNIST files, and a V1 run on the MNIST ones, where T1 looks for runs."""
    root = tmp_path_factory.mktemp("transfer")
    data = write_tiny_mnist(write_tiny_mnist(root / "data"), folder="FashionMNIST")
    logs = root / "logs"
    cfg = lesson_config(
        "mnist_cnn",
        logs / "mnist_cnn" / "tiny",
        f"paths.data_dir={data}",
        *MNIST_SMALL,
        *SMALL_CNN,
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=1",
        "callbacks.predictions=null",
        "test=false",
        QUIET,
    )
    train(cfg)
    return data, logs


def transfer_config(source, output_dir, *overrides):
    data, logs = source
    return lesson_config(
        "transfer_fashion", output_dir, f"paths.data_dir={data}", f"paths.log_dir={logs}", *TINY, *overrides
    )


def test_transfer_and_scratch_are_compared_in_one_run(source, tmp_path, capsys):
    run_dir = tmp_path / "run"
    result = train(transfer_config(source, run_dir, *NO_CHECKPOINTS))
    metrics = result["metrics"]
    for stage in ("val", "test"):
        # Two networks, trained side by side from different first layers, reach different losses.
        assert metrics[f"{stage}/loss"] != metrics[f"{stage}/loss_scratch"]
        gain = metrics[f"{stage}/acc"] - metrics[f"{stage}/acc_scratch"]
        assert metrics[f"{stage}/acc_gain"] == pytest.approx(gain, abs=1e-6)
    summary = capsys.readouterr().out
    assert "transfer_fashion" in summary and "test/acc_scratch" in summary and "test/acc_gain" in summary
    tags = set(events(run_dir).Tags()["scalars"])
    assert {"train/loss_scratch", "val/acc", "val/acc_scratch", "val/acc_gain", "test/acc_gain"} <= tags


def test_frozen_transfer_keeps_the_source_weights_and_scratch_starts_like_it(source, tmp_path):
    experiment = build(
        transfer_config(
            source, tmp_path / "run", "model.freeze=true", "trainer.max_epochs=1", *NO_CHECKPOINTS
        )
    )
    model = experiment.model
    initial = {name: value.clone() for name, value in model.net.state_dict().items()}
    assert all(torch.equal(value, model.scratch.state_dict()[name]) for name, value in initial.items())
    experiment.trainer.fit(model, datamodule=experiment.datamodule)
    checkpoint, transferred = PretrainedWeights(runs_dir=str(source[1])).state_dict()
    assert model.source_checkpoint == checkpoint and checkpoint.name == "best.ckpt"
    for name, value in transferred.items():
        assert torch.equal(model.net.features.state_dict()[name], value)  # loaded, and frozen
        assert not torch.equal(model.scratch.features.state_dict()[name], value)
        assert not torch.equal(model.scratch.features.state_dict()[name], initial[f"features.{name}"])
    assert not torch.equal(model.net.classifier[1].weight, initial["classifier.1.weight"])  # the head trains


def test_without_the_source_run_the_message_says_which_command_makes_it(source, tmp_path):
    data, _ = source
    cfg = lesson_config(
        "transfer_fashion", tmp_path / "run", f"paths.data_dir={data}", f"paths.log_dir={tmp_path}", *TINY
    )
    with pytest.raises(MissingCheckpointError) as error:
        train(cfg)
    message = str(error.value)
    assert str(tmp_path / "mnist_cnn") in message and "make train LESSON=mnist_cnn" in message
    missing = tmp_path / "nowhere.ckpt"
    with pytest.raises(
        MissingCheckpointError, match=re.escape(f"checkpoint not found: {missing}. Train lesson")
    ):
        PretrainedWeights(checkpoint=str(missing)).state_dict()
    other = tmp_path / "denoiser.ckpt"
    torch.save({"state_dict": {"net.encoder.0.weight": torch.zeros(1)}}, other)
    with pytest.raises(
        ValueError, match=re.escape("has no weights under 'net.features' (it has net.encoder)")
    ):
        PretrainedWeights(checkpoint=str(other)).state_dict()


def fashion(data_dir, **settings) -> FashionMNISTDataModule:
    return FashionMNISTDataModule(data_dir=str(data_dir), download=False, val_size=20, **settings)


def test_few_labels_per_class_from_the_debian_archive(tmp_path):
    archive = tmp_path / "debian"
    archive.mkdir()
    for path in (
        write_tiny_mnist(tmp_path / "made", folder="FashionMNIST") / "FashionMNIST" / "raw"
    ).iterdir():
        (archive / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes()))
    datamodule = fashion(tmp_path / "data", archive_dir=str(archive), labels_per_class=5)
    datamodule.setup()
    assert sorted(path.name for path in datamodule.raw_folder.iterdir()) == sorted(IDX_FILES)
    images, labels = datamodule.splits["train"]
    assert torch.equal(torch.bincount(labels), torch.full((10,), 5)) and len(images) == 50
    assert len(datamodule.splits["val"][0]) == 20 and len(datamodule.splits["test"][0]) == 40
    assert set(datamodule.indices["train"].tolist()).isdisjoint(datamodule.indices["val"].tolist())
    again = fashion(tmp_path / "data", archive_dir=None, labels_per_class=5)
    again.setup()
    assert torch.equal(again.splits["train"][0], images)  # the same few images for the same seed
    with pytest.raises(ValueError, match="labels_per_class=50, but class 0 has only"):
        fashion(tmp_path / "data", archive_dir=None, labels_per_class=50).setup()


def test_missing_fashion_mnist_says_how_to_get_it_offline(tmp_path):
    with pytest.raises(DataError) as error:
        fashion(tmp_path, archive_dir=str(tmp_path / "empty")).prepare_data()
    message = str(error.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message and "train-images-idx3-ubyte" in message
    assert (
        "apt-get install dataset-fashion-mnist" in message and "/usr/share/datasets/fashion-mnist" in message
    )
