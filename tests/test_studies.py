"""The concept studies (`make study NAME=...`) and the config choices they are built from.

The studies run as users run them (Hydra multiruns in their own processes), shortened where the
assertion allows: fewer epochs, and for `fitting` only its smallest and largest networks.
"""

import dataclasses
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from torch import nn

from lightning_lessons.cli import check_command_line
from lightning_lessons.config import compose
from lightning_lessons.lessons import lesson_names
from lightning_lessons.results.sweeps import read_jobs
from lightning_lessons.studies import run as studies
from lightning_lessons.studies.figures import reload_check

HERE = Path(__file__).parent


@pytest.mark.parametrize("lesson", lesson_names())
def test_every_lesson_composes_to_the_model_config_it_had_before_the_choices_existed(lesson):
    before = OmegaConf.load(HERE / "lesson_models.yaml")[lesson]
    now = compose([f"lesson={lesson}"]).model
    assert OmegaConf.to_container(now) == OmegaConf.to_container(before)


@pytest.mark.parametrize(
    ("choice", "optimizer", "settings"),
    [
        ("sgd", torch.optim.SGD, {"lr": 0.01, "momentum": 0}),
        ("momentum", torch.optim.SGD, {"lr": 0.001, "momentum": 0.9}),
        ("adagrad", torch.optim.Adagrad, {"lr": 0.1}),
        ("rmsprop", torch.optim.RMSprop, {"lr": 0.01}),
        ("adam", torch.optim.Adam, {"lr": 0.001, "fused": True}),
    ],
)
def test_an_optimizer_choice_builds_that_optimizer_with_its_own_learning_rate(choice, optimizer, settings):
    cfg = compose(["lesson=nonlinear_regression", f"model/optimizer={choice}"])
    built = instantiate(cfg.model).configure_optimizers()
    assert type(built) is optimizer
    assert {key: built.defaults[key] for key in settings} == settings


def test_a_lesson_keeps_the_learning_rate_its_notes_give_under_another_optimizer():
    cfg = compose(["lesson=linear_regression", "model/optimizer=adam"])
    assert cfg.model.optimizer._target_ == "torch.optim.Adam" and cfg.model.optimizer.lr == 1e-4


@pytest.mark.parametrize(("choice", "layer"), [("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid)])
def test_an_activation_choice_sets_every_hidden_activation_of_the_mlp(choice, layer):
    cfg = compose(["lesson=nonlinear_regression", f"+model/activation={choice}", "model.net.hidden=[8,8]"])
    net = instantiate(cfg.model.net)
    assert [type(module) for module in net] == [nn.Linear, layer, nn.Linear, layer, nn.Linear]


def test_a_loss_choice_sets_the_regression_loss():
    assert isinstance(
        instantiate(compose(["lesson=nonlinear_regression", "model/loss=l1"]).model).loss_fn, nn.L1Loss
    )


def test_make_studies_lists_every_study_with_one_line():
    lines = studies.list_studies().splitlines()
    names = studies.study_names()
    assert {"optimizers", "optimizers_mnist", "activations", "fitting", "losses", "save_reload"} <= set(names)
    for name, line in zip(names, lines, strict=False):
        assert line.split()[0] == name and len(line.split()) > 3


@pytest.mark.parametrize("name", studies.study_names())
def test_every_multirun_of_every_study_passes_the_command_line_check(name):
    study = studies.load_study(name)
    for multirun in study.multiruns:
        assert check_command_line(["-m", *study.common, *multirun.overrides]) is None


def run(tmp_path_factory, name: str, *overrides: str, multiruns: list | None = None) -> Path:
    """Run a study as `make study` does, into a folder of its own; `multiruns` replaces the study's."""
    study = studies.load_study(name)
    if multiruns is not None:
        study = dataclasses.replace(study, multiruns=multiruns)
    return studies.run_study(study, tmp_path_factory.mktemp(name), [*overrides, "callbacks.progress=null"])


@pytest.fixture(scope="module")
def losses(tmp_path_factory) -> Path:
    return run(tmp_path_factory, "losses", "epochs=300")


def test_fitting_shows_a_larger_gap_for_the_largest_network_than_for_the_smallest(tmp_path_factory):
    # The study's settings with only its smallest and largest networks, in one multirun (one process).
    smallest_and_largest = [studies.Multirun(["model.net.hidden=[1],[256,256]"])]
    folder = run(tmp_path_factory, "fitting", "epochs=600", multiruns=smallest_and_largest)
    small, large = (job.metrics for job in read_jobs(folder))
    gap = {name: m["val/loss"] - m["train/loss"] for name, m in (("small", small), ("large", large))}
    assert gap["large"] > gap["small"] + 3, gap
    assert large["train/loss"] < small["train/loss"] / 10  # the large network has learned the noise
    header = (folder / "results.csv").read_text().splitlines()[0].split(",")
    assert "gap" in header and "model.net.hidden" in header
    assert (folder / "fitting.png").stat().st_size > 10_000


def test_losses_l1_line_is_closer_to_the_outlier_free_line_than_mse(losses):
    from lightning_lessons.results.runs import Run

    records = {job.folder.name: Run(job.folder).metrics() for job in read_jobs(losses)}
    errors = {}
    for name, record in records.items():
        learned, target = record["parameters"], record["target_parameters"]
        assert target == {"weight": 1.0, "bias": 0.0}  # the outliers are not in the targets
        errors[name] = max(abs(learned[key] - target[key]) for key in target)
    assert errors["l1"] < errors["mse"] / 2, errors


def test_a_studys_runs_sit_side_by_side_in_tensorboard(losses):
    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(losses))
    multiplexer.Reload()
    runs = multiplexer.Runs()
    assert {"mse", "l1"} <= set(runs)
    for name in ("mse", "l1"):
        values = [event.value for event in multiplexer.Scalars(name, "train/loss")]
        assert len(values) > 10 and values[-1] < values[0], name


def test_save_reload_reloaded_predictions_equal_the_trained_ones_exactly(tmp_path_factory):
    folder = run(tmp_path_factory, "save_reload", "epochs=300")
    (job,) = read_jobs(folder)
    x, trained, reloaded = reload_check(job)
    assert torch.equal(x[:, 0], torch.arange(11.0))
    assert torch.equal(trained, reloaded)
    assert torch.allclose(trained[:, 0], 2 * x[:, 0] + 1, atol=0.01)  # the notes' 0.998 ... 21.001
    assert job.metrics["train/loss"] < 1e-4
