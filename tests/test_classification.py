"""Classification lessons: Gaussian clusters (C1, C2) and the MNIST CNN (V1) on tiny IDX files."""

import json

import pytest
import torch
from conftest import MNIST_SMALL, SMALL_CNN, events, lesson_config, scalar_values, tool, write_tiny_mnist
from PIL import Image, ImageDraw

from lightning_lessons.data import DataError, GaussianClustersDataModule, MNISTDataModule

QUIET = "callbacks.progress=null"


@pytest.mark.parametrize(
    ("lesson", "epochs"), [("logistic_regression", 300), ("multiclass_classification", 1500)]
)
def test_cluster_lessons_reach_99_percent_validation_accuracy(run_lesson, lesson, epochs):
    result, run_dir = run_lesson(lesson, f"epochs={epochs}", QUIET)
    assert result["metrics"]["val/acc"] >= 0.99
    assert result["metrics"]["test/acc"] >= 0.98
    tags = events(run_dir).Tags()
    assert {"train/acc", "val/acc", "test/acc"} <= set(tags["scalars"])
    regions = events(run_dir).Images("decision_regions")
    assert len(regions) >= 10 and regions[-1].step == epochs
    assert scalar_values(run_dir, "val/acc")[-1] >= 0.99


def test_clusters_follow_the_notes_and_the_seed():
    def make(seed):
        dm = GaussianClustersDataModule(
            means=[4.0, -4.0, -8.0], stds=[2.0, 1.0, 1.0], sizes=[500] * 3, seed=seed
        )
        dm.setup()
        return dm

    x, y = make(0).splits["train"]
    assert x.shape == (1500, 2) and torch.equal(torch.bincount(y), torch.tensor([500, 500, 500]))
    assert x[y == 1].mean().item() == pytest.approx(-4, abs=0.15) and x[y == 1].std().item() == pytest.approx(
        1, abs=0.1
    )
    assert torch.equal(make(0).splits["val"][0], make(0).splits["val"][0])
    assert not torch.equal(make(0).splits["val"][0], make(1).splits["val"][0])
    with pytest.raises(ValueError, match="one entry per cluster"):
        GaussianClustersDataModule(means=[1.0], stds=[1.0, 2.0], sizes=[5])


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """V1 trained for 2 epochs on tiny IDX files through torchvision's MNIST and the real Trainer."""
    from lightning_lessons.train import train

    root = tmp_path_factory.mktemp("v1")
    data = write_tiny_mnist(root / "data")
    run_dir = root / "run"
    cfg = lesson_config(
        "mnist_cnn",
        run_dir,
        f"paths.data_dir={data}",
        *MNIST_SMALL,
        *SMALL_CNN,
        "trainer.max_epochs=2",
        QUIET,
    )
    return train(cfg), run_dir, data


def test_v1_trains_on_tiny_idx_files_and_logs_what_a_user_looks_at(mnist_run):
    result, run_dir, _ = mnist_run
    assert result["metrics"]["val/acc"] >= 0.9 and result["metrics"]["test/acc"] >= 0.9
    tags = events(run_dir).Tags()
    assert {"train/acc", "train/loss", "val/acc", "test/acc", "final/test/acc"} <= set(tags["scalars"])
    assert {"predictions/val", "predictions/test", "confusion_matrix/val", "confusion_matrix/test"} <= set(
        tags["images"]
    )
    assert len(events(run_dir).Images("predictions/val")) == 2  # one per validation


def test_bulk_pipeline_equals_torchvision_per_image_pipeline(tiny_mnist):
    dm = MNISTDataModule(data_dir=str(tiny_mnist), download=False, val_size=20, batch_size=10)
    dm.setup()
    classic = torch.cat([images for images, _ in dm.torchvision_loader("test")])
    assert torch.equal(dm.splits["test"][0], classic)
    assert dm.splits["train"][0].shape == (100, 1, 28, 28) and len(dm.splits["val"][0]) == 20
    assert set(dm.indices["train"].tolist()).isdisjoint(dm.indices["val"].tolist())


def test_missing_mnist_says_where_the_four_files_go(tmp_path):
    dm = MNISTDataModule(data_dir=str(tmp_path), download=False)
    with pytest.raises(DataError) as error:
        dm.prepare_data()
    message = str(error.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "data.download=false" in message
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        assert name in message


def test_failed_download_says_so(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # refuses at once
    with pytest.raises(DataError, match="the download failed"):
        MNISTDataModule(data_dir=str(tmp_path), download=True).prepare_data()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda data: data[: len(data) // 2], "is truncated or corrupt: its header promises 120x28x28"),
        (lambda data: b"\x00\x00\x0d\x03" + data[4:], "is not an MNIST IDX file"),
        (lambda data: data[:6], "is truncated"),
    ],
)
def test_truncated_or_corrupt_idx_file_names_the_file(tiny_mnist, damage, expected):
    path = tiny_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DataError, match=expected) as error:
        MNISTDataModule(data_dir=str(tiny_mnist), download=False).setup()
    assert str(path) in str(error.value)


def test_eval_reproduces_the_logged_test_metrics(mnist_run):
    from lightning_lessons.eval import evaluate

    result, run_dir, _ = mnist_run
    logged = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    again = evaluate(run=str(run_dir))
    for name in ("test/acc", "test/loss"):
        assert again[name] == pytest.approx(logged[name], rel=1e-5, abs=1e-6)
        assert again[name] == pytest.approx(result["metrics"][name], rel=1e-5, abs=1e-6)


@pytest.mark.heavy  # eval, predict and train each in a process of their own
def test_predict_and_eval_explain_bad_input(mnist_run, tmp_path):
    _, run_dir, _ = mnist_run
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture")
    completed = tool(
        "predict", f"ckpt_path={run_dir / 'checkpoints' / 'best.ckpt'}", f"images={not_an_image}"
    )
    assert completed.returncode == 2 and f"cannot read {not_an_image} as an image" in completed.stderr
    completed = tool("predict", f"ckpt_path={tmp_path / 'missing.ckpt'}", "images=a.png")
    assert completed.returncode == 2 and "checkpoint not found" in completed.stderr
    completed = tool("eval", f"run={tmp_path}")
    assert completed.returncode == 2 and "is not a run folder" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_load_digit_centres_and_inverts_like_mnist(tmp_path):
    from lightning_lessons.data.digits import load_digit

    image = Image.new("L", (200, 100), 255)
    ImageDraw.Draw(image).rectangle([20, 20, 60, 80], fill=0)  # dark blob, off-centre, on white paper
    image.save(tmp_path / "blob.png")
    digit = load_digit(tmp_path / "blob.png")
    assert digit.shape == (28, 28) and digit.max() == pytest.approx(1.0, abs=0.02) and digit[0, 0] == 0
    rows, columns = torch.nonzero(digit > 0.5, as_tuple=True)
    assert rows.max() - rows.min() + 1 == 20  # longest side scaled to 20 pixels
    assert abs(rows.float().mean() - 13.5) <= 1 and abs(columns.float().mean() - 13.5) <= 1
    blank = tmp_path / "blank.png"
    Image.new("L", (30, 30), 255).save(blank)
    with pytest.raises(DataError, match="no digit found"):
        load_digit(blank)


def test_missing_data_on_the_command_line_is_a_message_not_a_traceback(tmp_path):
    from conftest import cli

    completed = cli(
        "lesson=mnist_cnn",
        f"paths.data_dir={tmp_path}",
        "data.download=false",
        f"paths.log_dir={tmp_path / 'logs'}",
    )
    assert completed.returncode == 2
    assert f"MNIST is not in {tmp_path / 'MNIST' / 'raw'}" in completed.stderr
    assert "Traceback" not in completed.stderr
