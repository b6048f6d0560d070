"""Every lesson's config composes, passes the schema check, and carries the notes' setup."""

from typing import Literal

import pytest
from omegaconf import OmegaConf

from lightning_lessons.config import compose
from lightning_lessons.lessons import lesson_names
from lightning_lessons.schema import accepts, check_config


@pytest.mark.parametrize("lesson", lesson_names())
def test_every_lesson_composes_and_passes_the_schema(lesson):
    cfg = compose([f"lesson={lesson}", "paths.output_dir=/tmp/unused"])
    assert cfg.lesson_name == lesson and cfg.description
    assert check_config(cfg) == []


NOTES = {
    "linear_regression_scratch": {
        "model.optimizer.lr": 1e-4,
        "epochs": 10000,
        "model.loss.reduction": "sum",
    },
    "linear_regression": {
        "data.n_samples": 100000,
        "data.noise_scale": 1.2,
        "model.optimizer.lr": 1e-4,
        "epochs": 10000,
        "data.batch_size": None,
    },
    "multifeature_regression_scratch": {
        "data.weights": [1.1, 2.2, 3.3],
        "data.bias": 4.4,
        "model.optimizer.lr": 0.003,
        "epochs": 10000,
    },
    "nonlinear_regression": {
        "data.n_samples": 10000,
        "data.noise_scale": 1.3,
        "model.net.hidden": [20],
        "model.optimizer.lr": 0.01,
        "epochs": 10000,
    },
    "two_layer_net_manual": {
        "model.gradients": "manual",
        "model.optimizer.lr": 1e-6,
        "epochs": 20,
        "data.n_features": 1000,
        "data.n_outputs": 10,
        "model.net.hidden": 100,
    },
    "two_layer_net_autograd": {
        "model.gradients": "autograd",
        "model.optimizer.lr": 1e-6,
        "epochs": 20,
    },
    "two_layer_net_sequential": {
        "model.net.hidden": [100],
        "model.optimizer.lr": 1e-4,
        "model.optimizer._target_": "lightning_lessons.models.GradientDescent",  # p -= lr * p.grad
        "epochs": 10000,
    },
    "two_layer_net_adam": {
        "model.net.hidden": [1000],
        "model.optimizer.lr": 1e-4,
        "model.optimizer._target_": "torch.optim.Adam",
        "epochs": 100,
    },
    "logistic_regression": {
        "data.means": [4.0, -4.0],
        "data.stds": [2.0, 2.0],
        "data.sizes": [500, 500],
        "model.net._target_": "torch.nn.Linear",
        "model.optimizer.lr": 0.02,
        "epochs": 1000,
    },
    "multiclass_classification": {
        "data.means": [4.0, -4.0, -8.0],
        "data.stds": [2.0, 1.0, 1.0],
        "model.net.hidden": [20],
        "model.optimizer.lr": 0.02,
        "epochs": 10000,
    },
    "mnist_cnn": {
        "data.batch_size": 64,
        "data.mean": 0.5,
        "data.std": 0.5,
        "model.optimizer._target_": "torch.optim.Adam",
        "model.optimizer.lr": 0.001,
        "epochs": 5,
    },
}


@pytest.mark.parametrize("lesson", sorted(NOTES))
def test_lessons_default_to_the_notes_hyperparameters(lesson):
    cfg = compose([f"lesson={lesson}", "paths.output_dir=/tmp/unused"])
    for key, value in NOTES[lesson].items():
        found = OmegaConf.select(cfg, key)
        found = OmegaConf.to_container(found) if OmegaConf.is_config(found) else found
        assert found == value, key


def test_intervals_follow_the_length_of_the_run():
    """A full-batch run is 20 Lightning epochs (each validated and checkpointed) of whole steps,
    logged 200 times, however long; a run counted in epochs logs at Lightning's default."""
    for steps, per_epoch, log_every in ((10000, 500, 50), (2000, 100, 10), (2001, 87, 10), (7, 1, 1)):
        cfg = compose(["lesson=nonlinear_regression", f"epochs={steps}", "paths.output_dir=/x"])
        assert (cfg.data.steps_per_epoch, cfg.trainer.log_every_n_steps) == (per_epoch, log_every)
        assert steps % per_epoch == 0 and steps // per_epoch >= min(20, steps)
    cfg = compose(["lesson=mnist_cnn", "paths.output_dir=/x"])
    assert cfg.trainer.log_every_n_steps == 50 and cfg.trainer.check_val_every_n_epoch == 1


@pytest.mark.parametrize(
    ("hint", "value", "ok"),
    [
        (int, 3, True),
        (int, 3.0, False),
        (int, True, False),
        (float, 3, True),
        (float, "x", False),
        (bool, 1, False),
        (int | None, None, True),
        (list[float], OmegaConf.create([1, 2.5]), True),
        (list[float], OmegaConf.create(["a"]), False),
        (list[float], 1.0, False),
        (Literal["a", "b"], "b", True),
        (Literal["a", "b"], "c", False),
        (str, "x", True),
    ],
)
def test_accepts_judges_values_against_type_hints(hint, value, ok):
    assert accepts(hint, value) is ok
