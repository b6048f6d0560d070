"""`make export`: a run's network written beside its checkpoint as ONNX or TorchScript, loaded back and
compared with the checkpoint's own outputs on the test split."""

from pathlib import Path

import onnxruntime
import pytest
import torch
from conftest import MNIST_SMALL, SMALL_CNN, lesson_config, tool
from hydra.utils import instantiate

from lightning_lessons.errors import ConfigError
from lightning_lessons.eval import restored
from lightning_lessons.export import TOLERANCE, export, largest_difference
from lightning_lessons.results.runs import Run
from lightning_lessons.train import train

# What a short run needs for a checkpoint, without the figures it would draw.
QUIET = ("callbacks.progress=null", "callbacks.fit_figure=null", "callbacks.model_graph=null")


@pytest.fixture(scope="module")
def r4_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("r4") / "run"
    train(lesson_config("nonlinear_regression", folder, "epochs=200", *QUIET))
    return folder


def test_r4_exports_beside_its_checkpoint_and_matches_it(r4_run: Path) -> None:
    for kind, name in (("onnx", "best.onnx"), ("torchscript", "best.torchscript.pt")):
        path, split, difference = export(str(r4_run), None, kind)
        assert path == Run(r4_run).checkpoints / name and path.is_file()
        assert split == "test split (1000 inputs)"
        assert difference <= TOLERANCE


def test_the_onnx_file_is_the_trained_network_for_any_batch_size(r4_run: Path) -> None:
    """Read back by onnxruntime alone: it computes what the checkpoint's network computes, for a batch
    size it was not exported with, and not what an untrained network computes."""
    run = Run(r4_run)
    path = run.checkpoints / "best.onnx"
    if not path.is_file():  # written by the test above, when run alone
        export(str(r4_run), None, "onnx")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def exported(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: x.numpy()})[0])

    x = torch.linspace(-3, 3, 7).unsqueeze(1)
    assert largest_difference(restored(run, run.best).model.eval(), exported, [x]) <= TOLERANCE
    untrained = instantiate(run.config().model).eval()  # the same network, freshly initialised
    assert largest_difference(untrained, exported, [x]) > 0.01


def test_a_lesson_that_steps_by_hand_exports_too(run_lesson) -> None:
    """R5.1's network is a plain nn.Module like any other; it has no held-out split, so its check uses
    the training inputs, and says so (its ONNX export: the heavy test below)."""
    _, folder = run_lesson("two_layer_net_manual", "epochs=5", *QUIET)
    path, split, difference = export(str(folder), None, "torchscript")
    assert path.name == "best.torchscript.pt" and split == "train split (100 inputs)"
    assert difference <= TOLERANCE


def test_an_unknown_format_is_named_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="format=pdf: choose onnx or torchscript"):
        export(str(tmp_path), None, "pdf")


@pytest.mark.heavy
@pytest.mark.parametrize(
    ("lesson", "overrides", "split"),
    [
        ("mnist_cnn", (*MNIST_SMALL, *SMALL_CNN, "epochs=1"), "test split (40 inputs)"),
        ("denoise_conv", (*MNIST_SMALL, "epochs=1"), "test split (40 inputs)"),
        ("two_layer_net_manual", ("epochs=5",), "train split (100 inputs)"),
    ],
)
def test_v1_d2_and_r5_1_export_through_the_command_line(lesson, overrides, split, tiny_mnist, run_lesson):
    _, folder = run_lesson(lesson, f"paths.data_dir={tiny_mnist}", "callbacks.progress=null", *overrides)
    for kind, name in (("onnx", "best.onnx"), ("torchscript", "best.torchscript.pt")):
        result = tool("export", f"run={folder}", f"format={kind}")
        assert result.returncode == 0, result.stderr
        difference = float(result.stdout.split(f"{split}: ")[1].split()[0])
        assert difference <= TOLERANCE
        assert (Run(folder).checkpoints / name).is_file()
