"""Every regression lesson trains through the real Trainer and learns what the notes' setup implies.

Runs are shortened (fewer epochs, a smaller data set or a larger step) so the suite stays fast; the
notes' own hyperparameters are checked in test_config.py and run in full by `make train`.
"""

import pytest
import torch
from conftest import scalar_values

QUIET = "callbacks.progress=null"


def test_r1_recovers_the_least_squares_line(run_lesson):
    result, _ = run_lesson("linear_regression_scratch", QUIET)  # the notes' full 10,000 epochs: ~15 s
    learned, target = result["parameters"], result["target_parameters"]
    x = torch.tensor([1.4, 5.0, 11.0, 16.0, 21.0])
    y = torch.tensor([14.4, 29.6, 62.0, 85.5, 113.4])
    best_loss = ((target["weight"] * x + target["bias"] - y) ** 2).sum().item()
    assert learned["weight"] == pytest.approx(target["weight"], rel=0.01)
    assert learned["bias"] == pytest.approx(target["bias"], abs=0.5)  # the slow direction of this problem
    assert result["metrics"]["train/loss"] < 1.2 * best_loss


def test_r2_learns_weight_one_and_bias_near_point_six(run_lesson):
    result, run_dir = run_lesson(
        "linear_regression",
        "data.n_samples=2000",
        "data.n_val=500",
        "data.n_test=500",
        "model.optimizer.lr=0.05",
        "epochs=300",
        QUIET,
    )
    assert result["parameters"]["weight"] == pytest.approx(1.0, abs=0.03)
    assert result["parameters"]["bias"] == pytest.approx(0.6, abs=0.05)
    assert result["metrics"]["test/loss"] < 0.15  # the noise's own variance is 1.2**2 / 12 = 0.12
    losses = scalar_values(run_dir, "train/loss")
    assert losses[-1] < losses[0]


def test_r3_recovers_its_three_weights_and_bias(run_lesson):
    result, _ = run_lesson("multifeature_regression_scratch", "model.optimizer.lr=0.1", "epochs=1000", QUIET)
    for name, target in result["target_parameters"].items():
        assert result["parameters"][name] == pytest.approx(target, abs=0.15), name
    assert result["metrics"]["val/loss"] < 0.05


def test_r4_fits_the_cubic(run_lesson):
    result, run_dir = run_lesson(
        "nonlinear_regression",
        "data.n_samples=1000",
        "data.n_val=200",
        "data.n_test=200",
        "epochs=1500",
        QUIET,
    )
    # y = x**3 on [-3, 3] varies by ~100 around its mean; noise alone leaves 1.3**2 / 12 = 0.14.
    assert result["metrics"]["val/loss"] < 0.5
    losses = scalar_values(run_dir, "train/loss")
    assert losses[-1] < losses[0] / 20


@pytest.mark.parametrize(
    ("lesson", "overrides", "drop"),
    [
        ("two_layer_net_manual", [], 50),
        ("two_layer_net_autograd", [], 50),
        ("two_layer_net_sequential", ["epochs=300"], 1000),
        ("two_layer_net_adam", ["epochs=30"], 10),
    ],
)
def test_r5_variants_drive_the_loss_down(run_lesson, lesson, overrides, drop):
    _, run_dir = run_lesson(lesson, *overrides, QUIET)
    losses = scalar_values(run_dir, "train/loss")
    assert losses[-1] < losses[0] / drop, losses


def test_r5_hand_written_and_autograd_variants_train_identically(run_lesson):
    runs = [
        run_lesson(lesson, "epochs=5", QUIET, name=lesson)
        for lesson in ("two_layer_net_manual", "two_layer_net_autograd")
    ]
    states = [
        torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
        for _, run_dir in runs
    ]
    for name in states[0]:
        assert torch.allclose(states[0][name], states[1][name], rtol=1e-4, atol=1e-4), name
    assert runs[0][0]["metrics"]["train/loss"] == pytest.approx(runs[1][0]["metrics"]["train/loss"], rel=1e-4)


def test_same_seed_same_result_to_the_last_digit(run_lesson):
    overrides = ("data.n_samples=500", "data.n_val=100", "data.n_test=100", "epochs=200", QUIET)
    first, _ = run_lesson("nonlinear_regression", *overrides, name="first")
    second, _ = run_lesson("nonlinear_regression", *overrides, name="second")
    other, _ = run_lesson("nonlinear_regression", *overrides, "seed=7", name="other")
    assert first["metrics"] == second["metrics"]
    assert first["metrics"] != other["metrics"]
