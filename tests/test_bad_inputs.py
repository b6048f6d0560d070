"""Bad input as new users type it: one `error:` line (exit 2), never a traceback, never a run folder left
behind; and eval/predict that rebuild exactly what was trained, from anywhere."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import MNIST_SMALL, ROOT, SMALL_CNN, cli, lesson_config, tool, write_idx, write_tiny_mnist
from hydra.utils import get_object
from PIL import Image

from lightning_lessons.cli import check_command_line
from lightning_lessons.config import compose
from lightning_lessons.data import MNISTDataModule, SyntheticRegressionDataModule
from lightning_lessons.data.digits import load_digit
from lightning_lessons.errors import DataError
from lightning_lessons.results.runs import lesson_runs


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["model.optimizer.lr=-0.1"], "model.optimizer.lr=-0.1 is out of range: must be > 0"),
        (
            ["lesson=two_layer_net_manual", "model.optimizer.lr=0"],
            "model.optimizer.lr=0 is out of range: must be > 0",
        ),
        (["data.batch_size=-3"], "data.batch_size=-3 is out of range: must be >= 1"),
        (["data.batch_size=0"], "null: the whole split in one batch"),
        (["data.n_samples=0"], "data.n_samples=0 is out of range: must be >= 1"),
        (
            ["lesson=mnist_cnn", "data.val_size=70000"],
            "data.val_size=70000 is out of range: must be >= 0 and < 60000",
        ),
        (
            ["trainer.max_epochs=0"],
            "trainer.max_epochs=0 is out of range: must be >= 1 and <= 1e+06",
        ),
        (["seed=-1"], "seed=-1 is out of range: must be >= 0 and < 4.29497e+09"),
        (["num_threads=0"], "num_threads=0 is out of range"),
        (["data_fraction=1.5"], "data_fraction=1.5 is out of range: must be > 0 and <= 1"),
        (["lesson=denoise_conv", "data.sigma=-0.5"], "data.sigma=-0.5 is out of range: must be >= 0"),
        (["lesson=mnist_cnn", "+model.net.dropout=2"], "model.net.dropout=2 is out of range"),
        (["lesson=denoise_mlp", "model.net.widths=[128,0,32]"], "each value must be >= 1"),
        (["model.optimizer.lr=nan"], "model.optimizer.lr=nan is out of range"),
        (
            ["lesson=logistic_regression", "+callbacks.decision_regions.resolution=1"],
            "callbacks.decision_regions.resolution=1 is out of range: must be >= 2",
        ),
        (
            ["lesson=mnist_cnn", "monitor=val/los"],
            "monitor='val/los' is not a metric this lesson logs. Did you mean: val/loss",
        ),
        (["lesson=denoise_conv", "monitor=val/psnr"], None),  # a metric it does log
        (["lesson=transfer_fashion", "monitor=val/acc_gain"], None),
        # The learning rate is model.optimizer.lr in every lesson, the manual ones included.
        (["lesson=two_layer_net_manual", "model.lr=0.1"], "Did you mean: model.optimizer.lr?"),
        (["lesson=two_layer_net_manual", "model.optimizer.lr=0.1"], None),
    ],
)
def test_every_number_and_the_monitor_are_checked_before_anything_runs(argv, expected):
    problem = check_command_line(argv)
    if expected is None:
        assert problem is None
    else:
        assert expected in (problem or "")


def test_a_rejected_command_line_is_one_error_line_and_leaves_no_run_folder(tmp_path):
    completed = cli("model.optimizer.lr=-0.1", f"paths.log_dir={tmp_path}")
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "error: model.optimizer.lr=-0.1 is out of range: must be > 0"
    ]
    assert list(tmp_path.iterdir()) == []


def test_an_empty_training_split_is_an_error_not_a_completed_run():
    data = SyntheticRegressionDataModule(x=[], y=[])
    with pytest.raises(DataError, match="the training split is empty"):
        data.setup()


def test_a_missing_idx_file_is_named_alone(tmp_path):
    root = write_tiny_mnist(tmp_path)
    (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as error:
        MNISTDataModule(str(root), download=False).setup()
    message = str(error.value)
    assert "the missing file(s) t10k-labels-idx1-ubyte (unzipped)" in message
    assert "train-images-idx3-ubyte" not in message.split("(unzipped)")[0].split("file(s)")[1]


def framed_digits(count: int, seed: int, folder: Path) -> tuple[list[Path], torch.Tensor]:
    """Learnable 'digits' drawn as a user would draw them, saved as PNG files: a frame with a block at a
    position of its class inside, random shades."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % 10
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, label in enumerate(labels.tolist()):
        image = torch.zeros(28, 28, dtype=torch.uint8)
        image[2:26, 2:26] = torch.randint(150, 256, (1,), generator=generator, dtype=torch.uint8)
        image[3:25, 3:25] = 0  # a one-pixel frame
        row, column = 4 + 6 * (label // 4), 4 + 5 * (label % 4)
        shade = torch.randint(180, 256, (6, 6), generator=generator, dtype=torch.uint8)
        image[row : row + 6, column : column + 6] = shade
        paths.append(folder / f"{index:03d}-digit-{label}.png")
        Image.fromarray(image.numpy()).save(paths[-1])
    return paths, labels


def write_framed_mnist(root: Path) -> Path:
    """IDX files of framed digits as `predict` prepares a picture (`load_digit`): V1 learns on what it
    will be shown."""
    raw = root / "MNIST" / "raw"
    for prefix, count, seed in (("train", 120, 0), ("t10k", 40, 1)):
        paths, labels = framed_digits(count, seed, root / "png" / prefix)
        images = torch.stack([(load_digit(path) * 255).round().to(torch.uint8) for path in paths])
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels.to(torch.uint8))
    return root


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """A tiny V1 run trained with its data named by $LESSONS_DATA_DIR alone, from the repository."""
    root = tmp_path_factory.mktemp("env")
    data = write_framed_mnist(root / "data")
    logs = root / "logs"
    env = {**os.environ, "LESSONS_DATA_DIR": str(data)}
    quiet = ("callbacks.progress=null", "print_config=false")
    completed = cli(
        "lesson=mnist_cnn",
        *MNIST_SMALL,
        *SMALL_CNN,
        "trainer.max_epochs=4",  # the small network names the framed digits after 4 (2 are too few)
        *quiet,
        f"paths.log_dir={logs}",
        env=env,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    (run,) = lesson_runs(logs, "mnist_cnn")
    return run, data


def test_make_eval_reproduces_the_logged_metrics_from_elsewhere_without_the_environment(mnist_run, tmp_path):
    run, _ = mnist_run
    env = {key: value for key, value in os.environ.items() if key != "LESSONS_DATA_DIR"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    completed = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "eval", f"RUN={run.folder}"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    logged = run.metrics()["metrics"]
    rows = {line.split()[0]: line.split()[1:] for line in completed.stdout.splitlines()[1:]}
    assert set(rows) == {"test/acc", "test/loss"}
    for name, (now, before) in rows.items():
        assert float(now) == pytest.approx(logged[name], rel=1e-5)
        assert float(before) == pytest.approx(logged[name], rel=1e-5)


@pytest.mark.heavy  # eval, predict and train each in a process of their own
def test_eval_checks_its_overrides_as_train_does(mnist_run):
    run, _ = mnist_run
    completed = tool("eval", f"run={run.folder}", "tset=false")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert "error: unknown config key 'tset'.\nDid you mean: test?" in completed.stderr
    completed = tool("eval", f"run={run.folder}", "data.eval_batch_size=-1")
    assert completed.returncode == 2 and "data.eval_batch_size=-1 is out of range" in completed.stderr


def test_make_eval_without_a_run_says_which_to_give():
    completed = subprocess.run(["make", "-s", "eval"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode != 0 and "Traceback" not in completed.stderr
    assert "error: say which run: make eval RUN=logs/<lesson>/<run>" in completed.stderr


@pytest.mark.heavy  # eval, predict and train each in a process of their own
def test_eval_predict_and_training_name_a_corrupt_checkpoint(mnist_run, tmp_path):
    run, data = mnist_run
    corrupt = run.checkpoints / "corrupt.ckpt"
    corrupt.write_bytes(run.best.read_bytes()[:5000])
    try:
        for completed in (
            tool("eval", f"ckpt_path={corrupt}"),
            tool("predict", f"ckpt_path={corrupt}", "images=a.png"),
            cli(
                "lesson=transfer_fashion",
                f"model.pretrained.checkpoint={corrupt}",
                f"paths.data_dir={write_tiny_mnist(data.parent, folder='FashionMNIST')}",
                *MNIST_SMALL,
                "data.archive_dir=null",
                "data.labels_per_class=4",
                f"paths.log_dir={tmp_path}",
            ),
        ):
            assert completed.returncode == 2, completed.stderr[-2000:]
            assert f"error: {corrupt} is not a readable checkpoint (5000 bytes; truncated or corrupt?)" in (
                completed.stderr
            )
            assert "Traceback" not in completed.stderr
    finally:
        corrupt.unlink()


def test_predict_on_a_checkpoint_copied_out_of_its_run_names_the_checkpoint(mnist_run, tmp_path):
    run, _ = mnist_run
    copied = tmp_path / "model.ckpt"
    shutil.copy(run.best, copied)
    completed = tool("predict", f"ckpt_path={copied}", "images=a.png")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert f"error: {copied} is not inside a run folder" in completed.stderr


def test_predict_gets_known_digits_right(mnist_run, tmp_path):
    """A V1 trained on framed digits names ten unseen ones, drawn as PNG files, correctly."""
    run, _ = mnist_run
    files, labels = framed_digits(10, seed=7, folder=tmp_path)  # one of each class, new shades
    paths = [str(path) for path in files]
    # As the README says it: make predict RUN=<run> IMAGES=a.png,b.jpg (the run's best checkpoint).
    command = ["make", "-s", "predict", f"RUN={run.folder}", f"IMAGES={','.join(paths)}"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    header, *lines = completed.stdout.strip().splitlines()
    assert header.split() == ["file", "digit", "probability"]
    rows = [line.split() for line in lines]
    assert [file for file, _, _ in rows] == paths
    predicted = [int(digit) for _, digit, _ in rows]
    assert predicted == labels.tolist()


def test_a_diverging_manual_lesson_and_a_nan_validation_loss_stop_with_the_step(tmp_path):
    completed = cli(
        "lesson=two_layer_net_manual",
        "model.optimizer.lr=1",
        "epochs=20",
        f"paths.log_dir={tmp_path}",
    )
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert (
        "error: the training loss became" in completed.stderr
        and "lr=1: try a tenth of it" in completed.stderr
    )
    (run,) = lesson_runs(tmp_path, "two_layer_net_manual")
    assert run.metrics() is None


def test_the_atomic_checkpoint_write_survives_a_kill_in_the_middle(tmp_path):
    """kill -9 while a large checkpoint is being written leaves the previous one whole under its name."""
    from lightning_lessons.results.checkpoints import AtomicCheckpointIO, read_checkpoint

    target = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint(
        {"state_dict": {"w": torch.zeros(3)}, "epoch": 1, "global_step": 1}, target
    )
    script = (
        "import sys, torch\nfrom lightning_lessons.results.checkpoints import AtomicCheckpointIO\n"
        "AtomicCheckpointIO().save_checkpoint({'state_dict': {'w': torch.ones(50_000_000)}}, sys.argv[1])"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(target)])
    partial = tmp_path / ".last.ckpt.partial"
    deadline = time.monotonic() + 60
    while not (partial.exists() and partial.stat().st_size > 0):
        assert writer.poll() is None and time.monotonic() < deadline, "the write ended before the kill"
        time.sleep(0.001)
    writer.send_signal(signal.SIGKILL)
    assert writer.wait() == -9
    assert partial.exists()  # killed before the rename...
    checkpoint = read_checkpoint(target, training=True)  # ...so last.ckpt is still the previous one
    assert torch.equal(checkpoint["state_dict"]["w"], torch.zeros(3))


@pytest.mark.parametrize(
    "lesson", ["linear_regression", "two_layer_net_manual", "logistic_regression", "denoise_conv"]
)
def test_what_monitor_may_name_is_what_a_fit_logs(lesson, run_lesson, tiny_mnist):
    """The up-front `monitor` check accepts exactly the metrics a fit of the lesson logs."""
    extra = (f"paths.data_dir={tiny_mnist}", *MNIST_SMALL) if lesson == "denoise_conv" else ()
    length = "trainer.max_epochs=2" if lesson == "denoise_conv" else "epochs=2"
    result, _ = run_lesson(lesson, *extra, length, "callbacks.progress=null")
    logged = {name for name in result["metrics"] if name.startswith(("train/", "val/"))}
    accepted = set(get_object(compose([f"lesson={lesson}"]).model._target_).monitorable())
    has_validation = any(name.startswith("val/") for name in logged)
    assert logged == {name for name in accepted if has_validation or name.startswith("train/")}


def test_a_non_finite_validation_loss_stops_the_fit_before_a_checkpoint_keeps_it(tmp_path):
    from lightning_lessons.errors import TrainingDiverged
    from lightning_lessons.experiment import build

    cfg = lesson_config("nonlinear_regression", tmp_path, "epochs=20", "callbacks.progress=null")
    experiment = build(cfg)
    experiment.datamodule.setup()
    targets = experiment.datamodule.splits["val"][1]
    targets[3] = float("nan")  # the data, not the weights, goes bad: only validation can see it
    with pytest.raises(TrainingDiverged, match="the validation loss became nan at step 1 "):
        experiment.trainer.fit(experiment.model, datamodule=experiment.datamodule)
    assert not list(tmp_path.rglob("*.ckpt"))


def test_a_diverging_full_batch_lesson_stops_at_the_very_update(run_lesson):
    """R4 at lr=0.1 overflows at update 7: the run stops there, inside its first Lightning epoch of 10
    updates, and names that update."""
    from lightning_lessons.errors import TrainingDiverged

    with pytest.raises(TrainingDiverged, match=r"training loss became inf at step 7 \(epoch 0\)"):
        run_lesson(
            "nonlinear_regression",
            "model.optimizer.lr=0.1",
            "epochs=200",
            "trainer.log_every_n_steps=10",
            "callbacks.progress=null",
        )
