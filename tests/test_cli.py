"""The command line as users type it: run folders, bad overrides, the lesson list."""

import math
import subprocess
import sys
import time

import pytest
from conftest import ROOT, cli

from lightning_lessons.cli import check_command_line
from lightning_lessons.lessons import lesson_names
from lightning_lessons.lessons import main as list_lessons


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.max_epoch=5", ["trainer.max_epoch", "Did you mean: trainer.max_epochs"]),
        ("trainer.max_epochs=abc", ["trainer.max_epochs='abc'", "expected int"]),
        ("lesson=linear_regresion", ["lesson/linear_regresion", "Available options", "linear_regression"]),
    ],
)
def test_bad_override_exits_nonzero_naming_the_key_and_leaves_no_run_folder(tmp_path, override, expected):
    completed = cli(override, f"paths.log_dir={tmp_path}")
    assert completed.returncode != 0
    for text in expected:
        assert text in completed.stderr
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["+model.net.widht=3"], "unknown key 'model.net.widht': torch.nn.Linear takes in_features"),
        (
            # D1's Adam is fused; an optimizer without that option is told how to drop it
            ["lesson=denoise_mlp", "model.optimizer._target_=torch.optim.RMSprop"],
            "unknown key 'model.optimizer.fused': torch.optim.RMSprop takes params, lr, alpha",
        ),
        (
            ["lesson=denoise_mlp", "model.optimizer._target_=torch.optim.RMSprop"],
            "Remove it with ~model.optimizer.fused",
        ),
        (["model.optimizer.lr=fast"], "model.optimizer.lr='fast' has the wrong type: expected float"),
        (["data.n_samples=1.5"], "data.n_samples=1.5 has the wrong type: expected int"),
        (
            ["data.noise=loud"],
            "data.noise='loud' has the wrong type: expected one of 'rand', 'randn', 'none'",
        ),
        (["model.loss.reduction=sum"], "add it with +model.loss.reduction=<value>"),
        (["model.net._target_=torch.nn.Nope"], "cannot use 'torch.nn.Nope'"),
        (
            ["-m", "model.optimizer.lr=0.1,0.2", "trainer.max_epoch=1"],
            "unknown config key 'trainer.max_epoch'",
        ),
    ],
)
def test_command_line_check_explains_what_is_wrong(argv, expected):
    assert expected in (check_command_line(argv) or "")


def test_good_command_lines_pass_the_check():
    assert (
        check_command_line(["lesson=nonlinear_regression", "epochs=2000", "model.optimizer.lr=0.02"]) is None
    )
    assert check_command_line(["-m", "model.optimizer.lr=0.1,0.2"]) is None
    assert check_command_line(["--cfg", "job"]) is None  # Hydra's own flags are Hydra's


def test_run_folder_names_of_two_processes_in_the_same_second_differ():
    """Both processes name their folder at the same instant (the next half second): same date and time,
    and still two names."""
    at = math.floor(time.time()) + 8.5  # time enough for both to start, even on a busy machine
    script = (
        "import sys, time; from lightning_lessons.config import stamp\n"
        "time.sleep(max(0, float(sys.argv[1]) - time.time())); print(stamp())"
    )
    command = [sys.executable, "-c", script, str(at)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    names = [process.communicate(timeout=60)[0].strip() for process in processes]
    assert names[0].rsplit("_", 1)[0] == names[1].rsplit("_", 1)[0]  # the same second
    assert names[0] != names[1]


@pytest.mark.heavy  # two processes at once
def test_two_runs_started_together_get_their_own_folders(tmp_path):
    args = ["lesson=two_layer_net_manual", "epochs=3", f"paths.log_dir={tmp_path}"]
    command = [sys.executable, "-m", "lightning_lessons.train", *args]
    processes = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    runs = sorted((tmp_path / "two_layer_net_manual").iterdir())
    assert len(runs) == 2
    for run in runs:
        assert (run / ".hydra" / "config.yaml").is_file()
        assert list(run.glob("events.out.tfevents.*"))
        assert (run / "checkpoints" / "last.ckpt").is_file() and (run / "checkpoints" / "best.ckpt").is_file()
        assert (run / "metrics.json").is_file()
    assert all("run folder" in output and "train/loss" in output for output in outputs)


def test_lesson_list_names_every_lesson_with_its_defaults(capsys):
    list_lessons()
    shown = capsys.readouterr().out
    required = {
        "linear_regression_scratch",
        "linear_regression",
        "multifeature_regression_scratch",
        "nonlinear_regression",
        "two_layer_net_manual",
        "two_layer_net_autograd",
        "two_layer_net_sequential",
        "two_layer_net_adam",
        "logistic_regression",
        "multiclass_classification",
        "mnist_cnn",
    }
    assert required <= set(lesson_names())
    for name in lesson_names():
        assert name in shown
    assert "linear_regression *" in shown and "10000 epochs of one full-batch step, SGD(lr=0.0001)" in shown
