"""Every front door checks like `train`: compare, bench, report, study and the SLURM launcher end a
user's mistake with one `error:` line and exit 2, before any run or folder; a lesson's data, model and
loss are checked against each other before the run."""

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ROOT, cli

from lightning_lessons import report
from lightning_lessons.cli import check_command_line
from lightning_lessons.config import compose
from lightning_lessons.schema import check_config
from lightning_lessons.studies import run as studies
from lightning_lessons.twins import compare

C1 = "lesson=logistic_regression"
SLURM = ["-m", "hydra/launcher=slurm", C1]
HELP = " (python scripts/benchmark.py --help)"


def refused(capsys, main, *args) -> str:
    """The one `error:` line a front door stops with: exit 2, no traceback, only warnings before it."""
    with pytest.raises(SystemExit) as stopped:
        main(*args)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    assert all(line.startswith("warning: ") for line in err[: err.index(errors[0])].splitlines()), err
    return errors[0]


# --- make compare ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["lesson=logistic_regresion"], "Could not find 'lesson/logistic_regresion'"),
        ([C1, "model.optimizer.lrr=0.1"], "unknown config key 'model.optimizer.lrr'"),
        ([C1, "data.means=[4,-4,0]"], "need one entry per cluster, got 3, 2 and 2"),
    ],
)
def test_make_compare_checks_its_command_line_as_train_does(capsys, argv, expected):
    assert expected in refused(capsys, compare.main, argv)


# --- make bench -----------------------------------------------------------------------------------


def benchmark():
    spec = importlib.util.spec_from_file_location("benchmark", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--repeats", "0"], "error: argument --repeats: 0 is out of range: must be >= 1 and <= 100" + HELP),
        (["--steps", "0"], "error: argument --steps: 0 is out of range: must be >= 1" + HELP),
        (
            ["--lessons", "linear_regression", "--", "model.optimizer.lrr=0.1"],
            "error: linear_regression: unknown config key 'model.optimizer.lrr'.",
        ),
    ],
)
def test_make_bench_refuses_bad_arguments_and_overrides_before_it_runs_anything(capsys, argv, expected):
    assert refused(capsys, benchmark().main, argv) == expected


# --- make report ----------------------------------------------------------------------------------


def write_record(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(text)
    return folder / "metrics.json"


def test_make_report_names_a_broken_metrics_json_and_reports_the_other_runs(tmp_path, capsys):
    record = {"lesson": "logistic_regression", "status": "completed", "overrides": [], "metrics": {"a": 1.0}}
    write_record(tmp_path / "good", json.dumps(record))
    truncated = write_record(tmp_path / "truncated", json.dumps(record)[:30])
    listed = write_record(tmp_path / "list", "[1, 2]")
    report.main([str(tmp_path)])
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "logistic_regression: 1 finished runs"
    warnings = err.splitlines()
    assert len(warnings) == 2 and all(line.startswith("warning: ") for line in warnings), err
    assert f"{listed} is not a run's record" in warnings[0]
    assert f"{truncated} cannot be read" in warnings[1]

    shutil.rmtree(tmp_path / "good")  # nothing left to report: the usual error
    assert "error: no runs under" in refused(capsys, report.main, [str(tmp_path)])


# --- the SLURM launcher ---------------------------------------------------------------------------


def test_slurm_without_sbatch_on_path_is_one_line_before_submitting(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    problem = check_command_line(SLURM)
    assert problem.startswith("hydra/launcher=slurm submits with sbatch, which is not on PATH")
    assert "\n" not in problem
    assert check_command_line(SLURM[1:]) is None  # without -m nothing is submitted: a local run


@pytest.mark.skipif(shutil.which("sinfo") is None, reason="needs SLURM's client commands")
def test_slurm_with_no_cluster_answering_is_one_line_with_what_sinfo_said(monkeypatch):
    monkeypatch.setenv("SLURM_CONF", "/dev/null")  # a configuration that names no controller
    problem = check_command_line(SLURM)
    assert problem.startswith("hydra/launcher=slurm found no SLURM cluster: sinfo says 'sinfo: fatal:")
    assert "\n" not in problem


@pytest.mark.heavy  # a real `train -m` process
def test_a_slurm_sweep_with_no_cluster_ends_with_one_line_and_no_folder(tmp_path):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv's tools: no sbatch
    completed = cli(*SLURM, "seed=1,2", f"paths.log_dir={tmp_path / 'logs'}", env=env)
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "error: hydra/launcher=slurm submits with sbatch, which is not on PATH: run on the cluster's "
        "login node, set SLURM_CONF to its slurm.conf (make slurm-up), or drop hydra/launcher=slurm"
    ]
    assert not any((tmp_path / "logs").rglob("*"))  # the log folder's write check made it, empty


# --- consistency before the run -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["data.means=[4,-4,0]"],
            "data.means, data.stds and data.sizes need one entry per cluster, got 3, 2 and 2",
        ),
        (
            ["data.means=[4,-4,0]", "data.stds=[2,2,2]", "data.sizes=[500,500,500]"],
            "the data has 3 classes, but model.num_classes=2, model.net.out_features=2: "
            "set model.num_classes=3 model.net.out_features=3",
        ),
        (
            ["model.num_classes=3"],
            "the data has 2 classes, but model.num_classes=3: set model.num_classes=2",
        ),
        (
            ["data.means=[4]", "data.stds=[1]", "data.sizes=[500]"],
            "data.means=[4] is one cluster, so one class: nothing to classify (every label is 0, "
            "any model that always answers 0 is right); give two clusters or more",
        ),
        (
            ["+model/loss=mse"],
            "model.loss=torch.nn.MSELoss does not fit lesson logistic_regression: its model outputs one "
            "logit per class and learns from class indices: use torch.nn.CrossEntropyLoss (or drop the "
            "override)",
        ),
    ],
)
def test_c1s_data_model_and_loss_must_fit_each_other(overrides, expected):
    assert check_config(compose([C1, *overrides])) == [expected]
    assert check_command_line([C1, *overrides]) == expected  # train's check: one line


def test_a_regression_lesson_refuses_a_loss_on_class_indices():
    cfg = compose(["lesson=linear_regression", "model.loss._target_=torch.nn.CrossEntropyLoss"])
    assert check_config(cfg) == [
        "model.loss=torch.nn.CrossEntropyLoss does not fit lesson linear_regression: its model learns "
        "targets shaped like its output: use a loss comparing the two, e.g. torch.nn.MSELoss (or drop the "
        "override)"
    ]
    # Consistent settings pass: C2's three clusters, C1 made three-class throughout, a margin loss.
    three = ["data.means=[4,-4,0]", "data.stds=[2,2,2]", "data.sizes=[500,500,500]", "model.num_classes=3"]
    for overrides in (
        ["lesson=multiclass_classification"],
        [C1, *three, "model.net.out_features=3"],
        [C1, "+model.loss._target_=torch.nn.MultiMarginLoss"],
    ):
        assert check_config(compose(overrides)) == [], overrides


# --- make study -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["optimizers", "model/optimizer=adam", "trainer.max_epochs=50"], "model/optimizer"),
        (["optimizers", "model.optimizer.lr=0.1"], "model.optimizer.lr"),
        (["losses", "model/loss=l1"], "model/loss"),
        (["activations", "+model/activation=tanh"], "model/activation"),
    ],
)
def test_a_study_refuses_an_override_of_what_it_compares_before_any_job(tmp_path, capsys, args, key):
    line = refused(capsys, studies.main, [*args, f"paths.log_dir={tmp_path}"])
    assert line.startswith(f"error: study {args[0]} compares {key} (each run sets its own, e.g. ")
    assert f"); {args[1]} would set it for every run: drop it from ARGS" in line
    assert list(tmp_path.iterdir()) == []


def test_a_study_checks_its_command_lines_and_names_an_unknown_study(tmp_path, capsys):
    line = refused(capsys, studies.main, ["fitting", "model.net.hiden=[2]", f"paths.log_dir={tmp_path}"])
    assert line.startswith("error: unknown config key 'model.net.hiden'")
    assert list(tmp_path.iterdir()) == []
    assert refused(capsys, studies.main, ["optimizer"]).startswith("error: no study 'optimizer'")
