"""Every lesson does exactly what the notes' plain PyTorch loop does: its twin (lightning_lessons.twins),
run with the same seed and overrides, ends with the same weights.

Runs are short (a few epochs, tiny MNIST); the lessons keep their defaults otherwise (TensorBoard,
checkpoints, figures), so nothing a user runs with may touch training. Where the notes were fixed, the
twin follows the fix: C1 and C2 train on logits (the notes' sigmoid and softmax before
CrossEntropyLoss are gone), V1 normalises with one channel's statistics.
"""

from pathlib import Path

import pytest
import torch
from conftest import MNIST_SMALL, SMALL_CNN, TINY_TRANSFER, lesson_config

from lightning_lessons.twins import run_twin
from lightning_lessons.twins.autograd import notes_gradient
from lightning_lessons.twins.compare import largest_difference, run_lesson

QUIET = ("callbacks.progress=null", "print_config=false")
TINY_MNIST = (*MNIST_SMALL, "trainer.max_epochs=2")
# lesson: (overrides, largest allowed weight difference). 0 means bit-identical: the same operations
# in the same order on the same numbers.
# Full-batch lessons log every 10 steps here and run 10 (R5.1, R5.2, R5.4: 1 or 5) of the notes' epochs
# in each Lightning epoch, as in their full-length runs (data.steps_per_epoch).
EVERY = ("trainer.log_every_n_steps=10", "trainer.check_val_every_n_epoch=20")
CASES = {
    "linear_regression_scratch": (("epochs=200", *EVERY), 0),
    "linear_regression": (("data.n_samples=2000", "epochs=100", *EVERY), 0),
    "multifeature_regression_scratch": (("epochs=200", *EVERY), 0),
    "nonlinear_regression": (("data.n_samples=1000", "epochs=100", *EVERY), 0),
    "two_layer_net_manual": (("epochs=20", *EVERY), 0),
    "two_layer_net_autograd": (("epochs=20", *EVERY), 0),
    "two_layer_net_sequential": (("epochs=60", *EVERY), 0),
    "two_layer_net_adam": (("epochs=20", *EVERY), 0),
    "logistic_regression": (("epochs=60", *EVERY), 0),  # logits, not the notes' sigmoid
    "multiclass_classification": (("epochs=60", *EVERY), 0),  # logits, not the notes' softmax
    "mnist_cnn": (
        (*TINY_MNIST, *SMALL_CNN, "callbacks.predictions=null"),
        0,
    ),  # Normalize(0.5, 0.5), one channel
    "denoise_mlp": (TINY_MNIST, 0),
    "denoise_conv": ((*TINY_MNIST, "callbacks.denoising=null"), 0),
    "transfer_fashion": ((*TINY_TRANSFER, "trainer.max_epochs=2"), 0),
}


def source_checkpoint(data: Path, folder: Path) -> Path:
    """A one-step V1 run: the weights T1 transfers."""
    overrides = (*MNIST_SMALL, *SMALL_CNN, "epochs=1", "+trainer.limit_train_batches=1")
    run_lesson(lesson_config("mnist_cnn", folder, f"paths.data_dir={data}", *overrides, *QUIET))
    return folder / "checkpoints" / "last.ckpt"


def config(lesson: str, folder: Path, data: Path, *extra: str):
    overrides = (*CASES[lesson][0], *extra, *QUIET)
    if lesson == "transfer_fashion":
        overrides += (f"model.pretrained.checkpoint={source_checkpoint(data, folder / 'source')}",)
    return lesson_config(lesson, folder / "run", f"paths.data_dir={data}", *overrides)


@pytest.mark.parametrize("lesson", CASES)
def test_the_lesson_ends_with_its_plain_twins_weights(lesson, tiny_mnist_and_fashion, tmp_path):
    cfg = config(lesson, tmp_path, tiny_mnist_and_fashion)
    lesson_run = run_lesson(cfg)
    twin = run_twin(cfg)
    assert lesson_run.steps == twin.steps > 0
    assert twin.parameters.keys() == lesson_run.parameters.keys()
    assert largest_difference(twin, lesson_run) <= CASES[lesson][1]


def test_a1_the_notes_autograd_gradient():
    y, grad = notes_gradient()
    x = torch.ones(2)
    assert y.item() == pytest.approx(5.6569, abs=1e-4)
    # d/dx |4x| = 16 x / |4x|: the chain rule by hand equals what backward() found
    assert torch.allclose(grad, 16 * x / (4 * x).norm())
    assert grad.tolist() == pytest.approx([2.8284, 2.8284], abs=1e-4)
