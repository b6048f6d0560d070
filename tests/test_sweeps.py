"""Sweeps as users run them: a grid's table, an Optuna search, a failed job, the report over seeds."""

import csv
import json
import statistics
from pathlib import Path

import pytest
from conftest import cli
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import plugin_data_pb2

from lightning_lessons import report
from lightning_lessons.cli import check_command_line
from lightning_lessons.config import CONF_DIR, register_resolvers

pytestmark = pytest.mark.heavy  # every test runs a multirun: a process per job

TINY = ("lesson=logistic_regression", "epochs=2")
METRICS = ["test/acc", "test/loss", "train/acc", "train/loss", "val/acc", "val/loss"]


def the_sweep(log_dir: Path) -> Path:
    (folder,) = (log_dir / "logistic_regression" / "multiruns").iterdir()
    return folder


def results(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def saved(folder: Path, job: str) -> dict:
    return json.loads((folder / job / "metrics.json").read_text())


def printed_table(stdout: str, folder: Path) -> list[str]:
    """The printed table's header and rows, from the line naming the sweep on."""
    lines = stdout[stdout.index(f"sweep {folder}") :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("job "))
    end = next(i for i, line in enumerate(lines) if line.startswith("table: "))
    return lines[start:end]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A 2x2 multirun: two learning rates, two seeds."""
    log_dir = tmp_path_factory.mktemp("grid")
    completed = cli("-m", *TINY, "model.optimizer.lr=0.01,0.1", "seed=1,2", f"paths.log_dir={log_dir}")
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed, log_dir, the_sweep(log_dir)


def test_a_grid_sweep_runs_every_combination_and_ends_with_one_table(grid):
    completed, _, folder = grid
    assert sorted(path.name for path in folder.iterdir() if path.is_dir()) == ["0", "1", "2", "3"]
    rows = results(folder)
    assert [(row["job"], row["model.optimizer.lr"], row["seed"]) for row in rows] == [
        ("0", "0.01", "1"),
        ("1", "0.01", "2"),
        ("2", "0.1", "1"),
        ("3", "0.1", "2"),
    ]
    for row in rows:
        record = saved(folder, row["job"])
        assert row["status"] == record["status"] == "completed" and row["error"] == ""
        assert {f"model.optimizer.lr={row['model.optimizer.lr']}", f"seed={row['seed']}"} <= set(
            record["overrides"]
        )
        assert {name: float(row[name]) for name in METRICS} == record["metrics"]

    assert "every job: lesson=logistic_regression epochs=2" in completed.stdout
    header, *lines = printed_table(completed.stdout, folder)
    assert header.split() == ["job", "status", "model.optimizer.lr", "seed", *METRICS]
    assert len(lines) == 4
    for line, row in zip((line.split() for line in lines), rows, strict=True):
        assert line[:4] == [row["job"], "completed", row["model.optimizer.lr"], row["seed"]]
        assert line[4:] == [f"{float(row[name]):.6g}" for name in METRICS]


def test_tensorboard_shows_the_sweep_runs_side_by_side_with_their_hparams(grid):
    _, log_dir, folder = grid
    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(log_dir))
    multiplexer.Reload()
    settings = {}
    for run, tags in multiplexer.PluginRunToTagToContent("hparams").items():
        start = plugin_data_pb2.HParamsPluginData.FromString(tags["_hparams_/session_start_info"])
        hparams = start.session_start_info.hparams
        settings[run] = (hparams["model/optimizer/lr"].number_value, hparams["seed"].number_value)
    prefix = f"logistic_regression/multiruns/{folder.name}"
    assert settings == {
        f"{prefix}/0": (0.01, 1),
        f"{prefix}/1": (0.01, 2),
        f"{prefix}/2": (0.1, 1),
        f"{prefix}/3": (0.1, 2),
    }


def test_report_gives_mean_and_std_over_seeds(grid, capsys):
    _, log_dir, folder = grid
    report.main([str(log_dir)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "logistic_regression: 4 finished runs"
    for lr, jobs in (("0.01", ("0", "1")), ("0.1", ("2", "3"))):
        start = next(i for i, line in enumerate(lines) if f"epochs=2 model.optimizer.lr={lr}" in line)
        for offset, name in enumerate(METRICS):
            values = [saved(folder, job)["metrics"][name] for job in jobs]
            cells = lines[start + offset].split()
            assert cells[-4:] == [
                name,
                f"{statistics.fmean(values):.6g}",
                f"{statistics.stdev(values):.3g}",
                "2",
            ]


def test_a_failing_job_is_marked_failed_with_its_error_and_the_others_complete(tmp_path, capsys):
    missing = tmp_path / "missing.ckpt"
    completed = cli("-m", *TINY, f"ckpt_path=null,{missing}", f"paths.log_dir={tmp_path}")
    assert completed.returncode == 1, completed.stderr[-3000:]
    assert "error: job(s) 1 failed" in completed.stderr
    folder = the_sweep(tmp_path)
    good, bad = results(folder)
    assert good["status"] == "completed" and good["error"] == ""
    assert {name: float(good[name]) for name in METRICS} == saved(folder, "0")["metrics"]
    assert bad["status"] == "failed" and bad["ckpt_path"] == str(missing)
    assert bad["error"] == f"checkpoint not found: {missing}" == saved(folder, "1")["error"]
    assert all(bad[name] == "" for name in METRICS)
    assert "CheckpointError" in (folder / "1" / "error.txt").read_text()
    header, _, failed_line = printed_table(completed.stdout, folder)
    assert header.split()[-1] == "error" and failed_line.split()[:3] == ["1", "failed", str(missing)]
    assert failed_line.index(bad["error"]) == header.index("error")  # in its column

    report.main([str(tmp_path)])
    assert "logistic_regression: 1 finished runs, 1 failed (left out)" in capsys.readouterr().out


def test_an_optuna_search_maximises_the_lessons_accuracy_and_prints_the_best_trial(tmp_path):
    import optuna

    storage = f"sqlite:///{tmp_path}/studies/study.db"  # a folder that does not exist yet
    completed = cli(
        "hparams_search=logistic_regression",
        "hydra.sweeper.n_trials=3",
        f"hydra.sweeper.storage={storage}",
        "epochs=2",  # the search tries mini-batches and the full batch: two epochs of each
        f"paths.log_dir={tmp_path}",
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    folder = the_sweep(tmp_path)
    rows = results(folder)
    assert [row["status"] for row in rows] == ["completed"] * 3
    accuracies = [float(row["val/acc"]) for row in rows]
    assert len(set(accuracies)) > 1  # so that picking the maximum is a real choice
    best = OmegaConf.load(folder / "optimization_results.yaml")
    assert best.best_value == max(accuracies)
    best_row = rows[accuracies.index(max(accuracies))]
    assert {key: best_row[key] for key in best.best_params} == {
        k: str(v) for k, v in best.best_params.items()
    }
    assert f"best trial (maximize val/acc): val/acc={max(accuracies):.6g} (job {best_row['job']})" in (
        completed.stdout
    )
    assert "  " + " ".join(f"{k}={v}" for k, v in best.best_params.items()) in completed.stdout.splitlines()
    study = optuna.load_study(study_name="logistic_regression", storage=storage)
    assert sorted(trial.value for trial in study.trials) == sorted(accuracies)


@pytest.mark.parametrize("search", sorted(path.stem for path in (CONF_DIR / "hparams_search").glob("*.yaml")))
def test_a_search_optimises_its_monitor_in_the_direction_the_checkpoint_keeps(search):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", [f"hparams_search={search}"], return_hydra_config=True)
    higher_is_better = cfg.monitor.endswith(("acc", "psnr", "ssim"))
    assert cfg.hydra.sweeper.direction == ("maximize" if higher_is_better else "minimize")
    assert cfg.callbacks.model_checkpoint.mode == ("max" if higher_is_better else "min")
    assert cfg.hydra.sweeper.params  # a search space


@pytest.mark.parametrize(
    "argv",
    [
        ["hparams_search=logistic_regression"],
        [
            "hparams_search=nonlinear_regression",
            "model.optimizer.lr=interval(0.001,0.1)",
            "hydra.sweeper.n_trials=5",
        ],
        ["-m", "hparams_search=logistic_regression", "data.batch_size=choice(32,64)", "seed=1,2"],
        ["-m", "lesson=logistic_regression", "model.optimizer.lr=tag(log,interval(0.001,1))"],
    ],
)
def test_search_command_lines_pass_the_check(argv):
    assert check_command_line(argv) is None


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            [
                "hparams_search=logistic_regression",
                "model.optimizer.lr=interval(0.001,0.1)",
                "trainer.max_epoch=3",
            ],
            "Did you mean: trainer.max_epochs",
        ),
        (["hparams_search=logistic"], "hparams_search/logistic"),
    ],
)
def test_search_command_lines_with_a_mistake_are_still_caught(argv, expected):
    assert expected in (check_command_line(argv) or "")
