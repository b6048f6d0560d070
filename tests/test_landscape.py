"""The loss surface of R1 and R2 (issue #24): the path drawn is the path trained, over the loss the lesson
computes, and `make study NAME=landscape` compares the optimizers on R1's surface."""

import csv

import pytest
import torch
from conftest import events

from lightning_lessons.callbacks.landscape import LossSurface, loss_surface, parameter_loss
from lightning_lessons.errors import ConfigError
from lightning_lessons.results.checkpoints import read_tensors
from lightning_lessons.studies import run as studies

R1_X = torch.tensor([[1.4], [5.0], [11.0], [16.0], [21.0]])
R1_Y = torch.tensor([[14.4], [29.6], [62.0], [85.5], [113.4]])
# 20 Lightning epochs of 20 steps: the surface drawn every 4, 5 times a run
R2_SHORT = ["epochs=400", "data.n_samples=3000", "data.n_val=300", "data.n_test=300"]


def recorded_path(run_dir) -> torch.Tensor:
    return read_tensors(run_dir / "checkpoints" / "last.ckpt")["callbacks"][LossSurface.__qualname__]["path"]


def trained_weights(run_dir) -> torch.Tensor:
    weights = read_tensors(run_dir / "checkpoints" / "last.ckpt")["state_dict"]
    return torch.cat([weights["net.weight"].reshape(-1), weights["net.bias"].reshape(-1)])


def test_r2s_path_ends_where_the_trained_weights_are_and_the_surface_is_redrawn(run_lesson):
    _, run_dir = run_lesson("linear_regression", *R2_SHORT, "callbacks.progress=null")
    path = recorded_path(run_dir)
    assert path.shape == (400 + 1, 2)  # where it started, then after each of the 400 steps
    assert torch.equal(path[-1], trained_weights(run_dir))
    assert not torch.equal(path[0], path[-1])
    steps = [image.step for image in events(run_dir).Images("loss_surface")]
    assert steps == [80, 160, 240, 320, 400]


def test_r1_resumed_draws_the_whole_path_to_the_trained_weights(run_lesson):
    run = ["linear_regression_scratch", "data.steps_per_epoch=20", "callbacks.progress=null"]
    _, first = run_lesson(*run, "epochs=200")
    halfway = recorded_path(first)
    _, resumed = run_lesson(*run, "epochs=400", "ckpt_path=last")
    path = recorded_path(resumed)
    assert resumed == first and halfway.shape == (201, 2) and path.shape == (401, 2)
    assert torch.equal(path[: len(halfway)], halfway)
    assert torch.equal(path[-1], trained_weights(resumed))
    assert [image.step for image in events(resumed).Images("loss_surface")] == [80, 160, 200, 240, 320, 400]


def test_the_surface_is_the_loss_the_lesson_computes_and_r1s_hessian_is_2_xt_x():
    net = torch.nn.Linear(1, 1)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    loss = parameter_loss(net, loss_fn, R1_X, R1_Y)
    (weights, biases), surface = loss_surface(loss, torch.tensor([[0.0, 0.0], [6.0, 7.0]]), resolution=7)
    for row, column in [(0, 0), (3, 5), (6, 2)]:
        with torch.no_grad():
            net.weight.fill_(weights[column])
            net.bias.fill_(biases[row])
            assert surface[row, column] == pytest.approx(float(loss_fn(net(R1_X), R1_Y)), rel=1e-5)
    design = torch.cat([R1_X, torch.ones_like(R1_X)], dim=1)
    hessian = torch.func.hessian(loss)(torch.tensor([5.0, 6.0]))
    torch.testing.assert_close(hessian, 2 * design.T @ design)


def test_a_network_of_more_than_two_numbers_is_a_config_error(run_lesson):
    surface = "+callbacks.loss_surface._target_=lightning_lessons.callbacks.LossSurface"
    with pytest.raises(ConfigError, match=r"draws networks of two one-number parameters .* has 61 numbers"):
        run_lesson("nonlinear_regression", surface, "epochs=20", "callbacks.progress=null")


@pytest.mark.heavy
def test_landscape_study_gd_crawls_along_the_bias_momentum_and_adam_arrive(tmp_path, capfd):
    folder = studies.run_study(studies.load_study("landscape"), tmp_path, ["callbacks.progress=null"])
    printed = capfd.readouterr().out
    # The study's table, with its derived columns, as it wrote it.
    rows = {row["job"]: row for row in csv.DictReader((folder / "results.csv").open())}
    assert list(rows) == ["gd", "momentum", "adam"]
    # The notes' result: after 10,000 epochs GD's bias is still 0.2 short of the least-squares 5.857.
    assert float(rows["gd"]["bias_gap"]) > 0.2
    assert float(rows["momentum"]["bias_gap"]) < 0.01 and float(rows["adam"]["bias_gap"]) < 0.01
    assert "condition number of R1's loss: 569 " in printed
    assert (folder / "landscape.png").stat().st_size > 10_000
