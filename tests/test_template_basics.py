"""What a practitioner expects of a template: a learning-rate scheduler group, early stopping, gradient
clipping and accumulation, each changing what a real run does."""

import pytest
import torch
from hydra.utils import instantiate

from lightning_lessons.config import compose
from lightning_lessons.results.checkpoints import read_checkpoint
from lightning_lessons.results.runs import Run

C1 = ("epochs=40", "callbacks.progress=null")


def final_lr(folder) -> float:
    return read_checkpoint(Run(folder).last, training=True)["optimizer_states"][0]["param_groups"][0]["lr"]


@pytest.mark.parametrize("scheduler", ["step", "cosine", "one_cycle"])
def test_a_scheduler_moves_the_learning_rate_as_torch_computes_it(run_lesson, scheduler, tmp_path):
    results, folder = run_lesson("logistic_regression", *C1, f"model/scheduler={scheduler}")
    cfg = compose(["lesson=logistic_regression", *C1, f"model/scheduler={scheduler}"])
    # The same scheduler on a lone parameter, stepped once a Lightning epoch as Lightning does.
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.model.optimizer.lr)
    schedule = instantiate(cfg.model.scheduler)(optimizer)
    expected = []
    for _ in range(cfg.trainer.max_epochs):
        optimizer.step()
        schedule.step()
        expected.append(optimizer.param_groups[0]["lr"])
    assert final_lr(folder) != pytest.approx(cfg.model.optimizer.lr)
    assert final_lr(folder) == pytest.approx(expected[results["epochs"] - 1])


def test_no_scheduler_keeps_the_notes_rate(run_lesson):
    _, folder = run_lesson("logistic_regression", *C1)
    assert final_lr(folder) == compose(["lesson=logistic_regression"]).model.optimizer.lr


def test_early_stopping_ends_the_fit_when_the_monitor_stops_improving(run_lesson):
    full, _ = run_lesson("logistic_regression", "epochs=400", "callbacks.progress=null", name="full")
    stopped, _ = run_lesson(
        "logistic_regression",
        "epochs=400",
        "callbacks.progress=null",
        "early_stopping=default",
        "callbacks.early_stopping.min_delta=0.01",
        name="stopped",
    )
    assert full["epochs"] == 20 and 3 < stopped["epochs"] < 20


def test_gradient_clipping_bounds_each_update(run_lesson):
    free, _ = run_lesson("logistic_regression", *C1, name="free")
    clipped, _ = run_lesson("logistic_regression", *C1, "trainer.gradient_clip_val=1e-4", name="clipped")
    # 40 updates of norm at most lr * 1e-4 barely move the weights: the loss stays near its start.
    assert clipped["metrics"]["train/loss"] > 2 * free["metrics"]["train/loss"]


def test_gradient_accumulation_takes_one_step_per_batches(run_lesson):
    every, _ = run_lesson("logistic_regression", *C1, name="every")
    accumulated, _ = run_lesson("logistic_regression", *C1, "trainer.accumulate_grad_batches=2", name="acc")
    assert every["steps"] == 40 and accumulated["steps"] == 20
