"""Debug configs, tags, and what every run records about itself (config tree, run info)."""

from pathlib import Path

import pytest
import torch
import yaml
from conftest import MNIST_SMALL, lesson_config, write_tiny_mnist

from lightning_lessons.experiment import build
from lightning_lessons.lessons import lesson_names
from lightning_lessons.models import MissingCheckpointError

MNIST_LESSONS = ("mnist_cnn", "denoise_mlp", "denoise_conv", "transfer_fashion")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return write_tiny_mnist(write_tiny_mnist(root), folder="FashionMNIST")


def test_debug_fast_runs_every_lesson_one_batch_of_each_split(run_lesson, tiny_data, tmp_path):
    logs = tmp_path / "logs"
    mnist = (f"paths.data_dir={tiny_data}", f"paths.log_dir={logs}", *MNIST_SMALL)
    # mnist_cnn first: transfer_fashion then starts from the source made for it below.
    for lesson in sorted(lesson_names(), key=lambda name: name != "mnist_cnn"):
        extra = mnist if lesson in MNIST_LESSONS else ()
        if lesson == "transfer_fashion":
            # A one-batch check leaves no checkpoint (nothing resume or T1 could take for a trained
            # run), so T1's source is a real, one-step mnist_cnn run.
            extra = (*extra, "data.archive_dir=null", "data.labels_per_class=4")
            assert not list(logs.rglob("*.ckpt"))
            with pytest.raises(MissingCheckpointError):
                run_lesson(lesson, "debug=fast", *extra, name="logs/transfer_fashion/no-source")
            source = ("trainer.max_epochs=1", "+trainer.limit_train_batches=1")
            run_lesson("mnist_cnn", *mnist, *source, name="logs/mnist_cnn/source")
        result, run_dir = run_lesson(lesson, "debug=fast", *extra, name=f"logs/{lesson}/fast")
        assert result["epochs"] == 1, lesson  # fast_dev_run: one epoch of one batch
        assert result["metrics"], lesson
        assert all(value == value for value in result["metrics"].values()), lesson  # no NaN
        assert not list(run_dir.rglob("*.ckpt")), lesson


def test_debug_limit_keeps_a_tenth_of_each_split_and_runs_three_epochs(run_lesson):
    def split_sizes(*overrides):
        experiment = build(lesson_config("nonlinear_regression", Path("/tmp/unused"), *overrides))
        experiment.datamodule.setup()
        return {name: len(split[0]) for name, split in experiment.datamodule.splits.items()}

    full, limited = split_sizes(), split_sizes("debug=limit")
    assert full.keys() == limited.keys() == {"train", "val", "test"}
    assert all(limited[name] == full[name] // 10 for name in full)
    result, _ = run_lesson("nonlinear_regression", "debug=limit")
    assert result["epochs"] == 3


def test_debug_overfit_drives_the_loss_of_a_few_batches_down(run_lesson):
    result, run_dir = run_lesson("logistic_regression", "debug=overfit", "data.batch_size=50")
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 50 * 3  # max_epochs=50, overfit_batches=3 batches an epoch
    assert result["metrics"]["train/loss"] < 0.05


def test_debug_profile_reports_where_the_time_went(run_lesson):
    _, run_dir = run_lesson("two_layer_net_autograd", "debug=profile")
    report = (run_dir / "fit-profile.txt").read_text()
    assert "FIT Profiler Report" in report and "run_training_epoch" in report


def test_config_tree_and_run_info_are_printed_and_saved(run_lesson, capsys):
    _, run_dir = run_lesson("two_layer_net_autograd", "tags=[smoke,lr-study]", "seed=7", "print_config=true")
    printed = capsys.readouterr().out
    assert "config of two_layer_net_autograd" in printed
    for branch in ("data", "model", "trainer", "callbacks", "run"):
        assert f"── {branch}" in printed
    info = yaml.safe_load((run_dir / "run_info.yaml").read_text())
    assert info["seed"] == 7 and info["tags"] == ["smoke", "lr-study"]
    assert info["hostname"] and info["packages"]["torch"] == torch.__version__.split("+")[0]
    assert info["git_commit"] is None or len(info["git_commit"].split("+")[0]) == 40
