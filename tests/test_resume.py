"""Resume loses nothing: kill -9 + `resume=latest` ends where an uninterrupted run ends, for every kind of
lesson (full-batch, dropout, training noise, two networks), and a finished run keeps its results."""

import json
import os
from pathlib import Path

import pytest
import torch
from conftest import (
    KILLER,
    KILLER_ENV,
    MNIST_SMALL,
    SMALL_CNN,
    TINY_TRANSFER,
    cli,
    events,
    lesson_config,
)

from lightning_lessons.results.runs import Run, lesson_runs
from lightning_lessons.train import train

QUIET = ("callbacks.progress=null", "print_config=false", "num_threads=1")
TINY_MNIST = (*MNIST_SMALL, "trainer.max_epochs=3")  # 5 steps an epoch, a checkpoint after each
# lesson: (overrides, the step to kill at: between two checkpoints, after the first)
CASES = {
    "linear_regression": (("data.n_samples=2000", "epochs=40"), 25),
    # Mini-batches (4 a epoch, Lightning's own loop), resumed the other way: `ckpt_path=last` and the
    # run's overrides, in the newest run's folder.
    "nonlinear_regression": (("trainer.max_epochs=60", "data.batch_size=2500"), 100),
    "multiclass_classification": (("epochs=40",), 25),
    "mnist_cnn": ((*TINY_MNIST, *SMALL_CNN, "callbacks.predictions=null"), 7),
    "denoise_conv": ((*TINY_MNIST, "callbacks.denoising=null"), 7),
    "transfer_fashion": ((*TINY_TRANSFER, "trainer.max_epochs=5"), 4),
}


@pytest.fixture(scope="module")
def data(tiny_mnist_and_fashion: Path) -> Path:
    return tiny_mnist_and_fashion


def source_run(data: Path, logs: Path) -> None:
    """A one-step V1 run under `logs`, where T1 finds the weights it transfers."""
    overrides = (
        *MNIST_SMALL,
        *SMALL_CNN,
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=1",
        "test=false",
    )
    train(
        lesson_config(
            "mnist_cnn", logs / "mnist_cnn" / "source", f"paths.data_dir={data}", *overrides, *QUIET
        )
    )


def only_run(logs: Path, lesson: str) -> Run:
    (run,) = lesson_runs(logs, lesson)
    return run


@pytest.mark.heavy
@pytest.mark.parametrize("lesson", CASES)
def test_kill_9_and_resume_latest_end_exactly_where_an_uninterrupted_run_ends(lesson, data, tmp_path):
    overrides, kill_at = CASES[lesson]
    args = (f"lesson={lesson}", f"paths.data_dir={data}", *overrides, *QUIET, KILLER)
    killed_logs, whole_logs = tmp_path / "killed", tmp_path / "whole"
    if lesson == "transfer_fashion":
        source_run(data, killed_logs)
        source_run(data, whole_logs)
    env = {**os.environ, **KILLER_ENV, "KILL_AT_STEP": str(kill_at)}
    killed = cli(*args, f"paths.log_dir={killed_logs}", env=env)
    assert killed.returncode == -9, killed.stderr[-2000:]
    run = only_run(killed_logs, lesson)
    saved_at = torch.load(run.last, weights_only=True)["global_step"]
    assert 0 < saved_at < kill_at and run.metrics() is None  # steps after the checkpoint were lost

    del env["KILL_AT_STEP"]
    again = (f"lesson={lesson}", "resume=latest")
    if lesson == "nonlinear_regression":
        again = ("ckpt_path=last", *args)
    resumed = cli(*again, f"paths.log_dir={killed_logs}", env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert only_run(killed_logs, lesson) == run  # continued in its own folder, no second one

    # The uninterrupted run in this process: the command line is what the killed and resumed runs test.
    whole = (f"paths.data_dir={data}", *overrides, *QUIET, f"paths.log_dir={whole_logs}")
    train(lesson_config(lesson, whole_logs / lesson / "whole", *whole))
    uninterrupted = only_run(whole_logs, lesson)
    assert run.metrics()["metrics"] == uninterrupted.metrics()["metrics"]
    assert run.metrics()["epochs"] == uninterrupted.metrics()["epochs"]
    weights = [torch.load(r.last, weights_only=True)["state_dict"] for r in (run, uninterrupted)]
    assert weights[0].keys() == weights[1].keys()
    different = [name for name in weights[0] if not torch.equal(weights[0][name], weights[1][name])]
    assert different == []
    # TensorBoard's training curve goes on to the end in the run's own folder, at the same steps.
    steps = [sorted({e.step for e in events(r.folder).Scalars("train/loss")}) for r in (run, uninterrupted)]
    assert steps[0] == steps[1] and steps[1][-1] >= saved_at


R4 = (
    "lesson=nonlinear_regression",
    "trainer.max_epochs=40",
    "data.batch_size=2500",
    *QUIET,
)


@pytest.mark.heavy  # three runs, each a process of its own
def test_resuming_a_finished_run_refuses_and_keeps_its_results_then_trains_further_on_request(tmp_path):
    assert cli(*R4, "seed=3", f"paths.log_dir={tmp_path}").returncode == 0
    run = only_run(tmp_path, "nonlinear_regression")
    before = run.metrics_path.read_text()

    again = cli("lesson=nonlinear_regression", "resume=latest", f"paths.log_dir={tmp_path}")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert f"error: {run.folder} is finished: it trained all 40 of its epochs" in again.stderr
    assert "trainer.max_epochs=80" in again.stderr and f"make eval RUN={run.folder}" in again.stderr
    assert run.metrics_path.read_text() == before  # nothing overwritten

    further = cli(f"resume={run.folder}", "trainer.max_epochs=60")
    assert further.returncode == 0, further.stderr[-2000:]
    record, earlier = run.metrics(), json.loads(before)
    assert record["epochs"] == 60 and record["status"] == "completed"
    assert record["metrics"].keys() >= earlier["metrics"].keys()  # train, val and test, all kept
    assert record["metrics"]["train/loss"] != earlier["metrics"]["train/loss"]  # it did train further
    # The run's own overrides, with the new one: `make report` groups it with its seed siblings.
    assert "ckpt_path=last" not in record["overrides"]
    assert set(record["overrides"]) == {*earlier["overrides"], "trainer.max_epochs=60"} - {
        "trainer.max_epochs=40"
    }
    info = (run.folder / "run_info.yaml").read_text()
    assert "seed=3" in info.split("resumed:")[0] and "trainer.max_epochs=60" in info.split("resumed:")[1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["resume=latest", "trainer.max_epoch=5"], "unknown config key 'trainer.max_epoch'"),
        (["lesson=nonlinear_regresion", "resume=latest"], "Could not find 'lesson/nonlinear_regresion'"),
        (["-m", "resume=latest"], "nothing to resume: no sweep under"),
    ],
)
def test_a_bad_resume_command_line_is_one_error_line(args, expected, tmp_path):
    completed = cli(*args, f"paths.log_dir={tmp_path}")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert completed.stderr.startswith("error: ") and expected in completed.stderr
    assert list(tmp_path.iterdir()) == []
