"""Several processes: each sees its own share of the data, and logged metrics cover the whole split."""

import csv
import json

import pytest
import torch
from conftest import cli, lesson_config, scalar_values
from hydra.utils import instantiate

from lightning_lessons.data import TensorLoader
from lightning_lessons.train import train

pytestmark = pytest.mark.heavy  # DDP, multiruns and launchers: several real processes a test

DDP = (
    "trainer=ddp_cpu",
    "data.n_val=33",  # 99 validation points: shares of 50 and 49
    "data.batch_size=32",
    "trainer.max_epochs=30",
    "callbacks.progress=null",
)


def shares(size, world_size, even, shuffle=False, batch_size=None, epoch=0):
    rows = []
    for rank in range(world_size):
        loader = TensorLoader(
            [torch.arange(size)],
            batch_size,
            shuffle=shuffle,
            seed=3,
            rank=rank,
            world_size=world_size,
            even=even,
        )
        loader.sampler.set_epoch(epoch)
        batches = [batch for (batch,) in loader]
        assert len(batches) == len(loader)
        rows.append(torch.cat(batches).tolist())
    return rows


def test_evaluation_shares_are_disjoint_and_cover_the_split_once():
    rows = shares(99, 2, even=False, batch_size=32)
    assert [len(r) for r in rows] == [50, 49]
    assert sorted(rows[0] + rows[1]) == list(range(99))


def test_training_shares_are_equal_so_every_process_takes_as_many_steps():
    for epoch in (0, 1):
        rows = shares(99, 2, even=True, shuffle=True, batch_size=32, epoch=epoch)
        assert len(rows[0]) == len(rows[1]) == 50
        assert set(rows[0]) | set(rows[1]) == set(range(99))  # one row repeats to even them out
    assert shares(99, 2, True, True, 32, epoch=0) != shares(99, 2, True, True, 32, epoch=1)  # reshuffled


def test_one_process_sees_everything_in_order_as_before():
    assert shares(10, 1, even=True, batch_size=4) == [list(range(10))]
    data = torch.arange(10)
    [(full,)] = list(TensorLoader([data], shuffle=True, even=True))
    assert full is data  # a full batch is the tensor itself: no copy, no shuffle, every step
    with pytest.raises(ValueError, match="rank must be in"):
        TensorLoader([torch.arange(4)], rank=2, world_size=2)


def test_ddp_cpu_trains_with_two_processes_and_logs_the_whole_validation_set(tmp_path):
    cfg = lesson_config("multiclass_classification", tmp_path / "run", *DDP)
    result = train(cfg)
    assert result["epochs"] == 30 and result["status"] == "completed"
    assert (tmp_path / "run" / "checkpoints" / "best.ckpt").is_file()

    # The same network over the whole validation set, in this one process.
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    x, y = datamodule.splits["val"]
    model = instantiate(cfg.model)
    weights = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    model.load_state_dict(weights)
    logits = model.predict(x)
    whole_loss = float(torch.nn.functional.cross_entropy(logits, y))
    whole_acc = float((logits.argmax(dim=1) == y).float().mean())

    logged_loss = scalar_values(tmp_path / "run", "val/loss")[-1]
    assert logged_loss == pytest.approx(whole_loss, rel=1e-5)
    assert result["metrics"]["val/loss"] == pytest.approx(whole_loss, rel=1e-5)
    assert result["metrics"]["val/acc"] == pytest.approx(whole_acc, abs=1e-6)
    # A mean of the two processes' means would be off: the check above can tell the difference.
    halves = [torch.nn.functional.cross_entropy(logits[r::2], y[r::2]) for r in range(2)]
    assert abs(float(sum(halves) / 2) - whole_loss) > 1e-5 * whole_loss


@pytest.mark.parametrize(
    "sweep",
    [("-m", "seed=1,2"), ("hparams_search=logistic_regression", "hydra.sweeper.n_trials=2")],
    ids=["grid", "optuna"],
)
def test_ddp_cpu_runs_inside_a_multirun_and_an_optuna_search(tmp_path, sweep):
    completed = cli(
        *sweep[:1],
        "lesson=multiclass_classification",
        *DDP,
        "trainer.max_epochs=4",  # mini-batches of 32: four whole epochs, each validated
        *sweep[1:],
        f"paths.log_dir={tmp_path}",
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    [folder] = (tmp_path / "multiclass_classification" / "multiruns").iterdir()
    with open(folder / "results.csv") as table:
        rows = list(csv.DictReader(table))
    assert len(rows) == 2 and {row["status"] for row in rows} == {"completed"}
    for job in ("0", "1"):
        saved = json.loads((folder / job / "metrics.json").read_text())
        assert saved["epochs"] == 4 and saved["metrics"]["val/acc"] > 0.5


def test_the_submitit_launcher_runs_a_sweep_in_processes_of_its_own(tmp_path):
    # The SLURM launcher's local twin: same pickled jobs, same folders, one process per job.
    completed = cli(
        "-m",
        "hydra/launcher=local",
        "lesson=logistic_regression",
        "epochs=10",
        "seed=1,2",
        f"paths.log_dir={tmp_path}",
        "callbacks.progress=null",
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    [sweep] = (tmp_path / "logistic_regression" / "multiruns").iterdir()  # one folder, however many processes
    assert (sweep / ".submitit").is_dir()
    with open(sweep / "results.csv") as table:
        assert [row["seed"] for row in csv.DictReader(table)] == ["1", "2"]


def test_hand_written_gradients_are_averaged_across_processes_like_autograds(run_lesson):
    weights = []
    for lesson in ("two_layer_net_manual", "two_layer_net_autograd"):
        _, run_dir = run_lesson(lesson, "trainer=ddp_cpu", "epochs=5", "callbacks.progress=null", name=lesson)
        weights.append(torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"])
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        torch.testing.assert_close(weights[0][name], weights[1][name], rtol=1e-4, atol=1e-6)


def test_ddp_that_would_rerun_the_command_line_refuses_a_multirun(tmp_path):
    # Lightning's `ddp` starts rank 1 by re-running the command line: under -m, the whole sweep.
    completed = cli(
        "-m",
        "lesson=logistic_regression",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "seed=1,2",
        f"paths.log_dir={tmp_path}",
    )
    assert completed.returncode != 0 and "job(s) 0, 1 failed" in completed.stderr
    saved = [json.loads(path.read_text()) for path in tmp_path.rglob("metrics.json")]
    assert len(saved) == 2 and {run["status"] for run in saved} == {"failed"}
    for run in saved:  # each job stopped before training, saying why and what to use
        assert "strategy 'ddp' starts its processes by running the command line again" in run["error"]
        assert "trainer.strategy=ddp_fork" in run["error"]
