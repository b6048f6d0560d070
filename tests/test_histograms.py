"""Weights and gradients in TensorBoard's Histograms and Distributions tabs (issue #24): V1, D2 and T1
write them at each validation, as the run's real tensors; `callbacks.histograms=null` switches it off."""

import pytest
import torch
from conftest import MNIST_SMALL, SMALL_CNN, lesson_config
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lightning_lessons.callbacks import ParameterHistograms
from lightning_lessons.experiment import instantiate_all
from lightning_lessons.results.checkpoints import read_tensors

V1 = ("mnist_cnn", *MNIST_SMALL, *SMALL_CNN, "trainer.max_epochs=2", "callbacks.progress=null")


def histograms(run_dir) -> EventAccumulator:
    accumulator = EventAccumulator(str(run_dir), size_guidance={"histograms": 0})  # all, not the last
    accumulator.Reload()
    return accumulator


def test_v1_writes_every_weight_and_gradient_at_each_validation(run_lesson, tiny_mnist):
    _, run_dir = run_lesson(*V1, f"paths.data_dir={tiny_mnist}", "callbacks.embedding=null")
    weights = read_tensors(run_dir / "checkpoints" / "last.ckpt")["state_dict"]
    parameters = [name for name in weights if name.startswith("net.") and "running" not in name]
    accumulator = histograms(run_dir)
    tags = accumulator.Tags()["histograms"]
    assert sorted(tags) == sorted(
        [f"{kind}/{name}" for name in parameters for kind in ("weights", "gradients")]
    )
    steps = 100 // 20  # an epoch: tiny MNIST's 120 training images less 20 for validation, batches of 20
    for name in parameters:
        written = accumulator.Histograms(f"weights/{name}")
        assert [event.step for event in written] == [steps, 2 * steps]
        # The last one is the trained tensor itself; the 802,816 weights of SMALL_CNN's Linear layer are
        # more than max_values (250,000): drawn from that many of them, within their range.
        last, trained = written[-1].histogram_value, weights[name].double()
        assert last.num == min(trained.numel(), 250_000)
        assert trained.min() <= last.min and last.max <= trained.max()
        if trained.numel() <= 250_000:
            assert (last.min, last.max) == pytest.approx((float(trained.min()), float(trained.max())))
            assert last.sum == pytest.approx(float(trained.sum()), rel=1e-4, abs=1e-4)
        gradient = accumulator.Histograms(f"gradients/{name}")[-1].histogram_value
        assert gradient.num == min(trained.numel(), 250_000) and gradient.sum_squares > 0


@pytest.mark.parametrize("lesson", ["mnist_cnn", "denoise_conv", "transfer_fashion"])
def test_v1_d2_and_t1_have_it_and_callbacks_histograms_null_switches_it_off(lesson, tmp_path):
    def histogram_callbacks(*overrides: str) -> list[object]:
        callbacks = instantiate_all(lesson_config(lesson, tmp_path, *overrides).callbacks)
        return [callback for callback in callbacks if isinstance(callback, ParameterHistograms)]

    assert len(histogram_callbacks()) == 1
    assert histogram_callbacks("callbacks.histograms=null") == []


def test_a_large_tensor_is_drawn_from_the_same_sample_at_every_validation():
    histograms = ParameterHistograms(max_values=1000)
    values = torch.randn(200, 50)
    first = histograms.sample("w", values)
    assert first.shape == (1000,) and torch.equal(histograms.sample("w", values), first)
    assert torch.isin(first, values.flatten()).all()
    assert histograms.sample("bias", torch.ones(10)).shape == (10,)  # small: every number
    assert ParameterHistograms(max_values=None).sample("w", values).shape == (10_000,)
