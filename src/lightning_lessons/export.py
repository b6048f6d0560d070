"""Export a run's network: `python -m lightning_lessons.export run=<run folder> format=onnx|torchscript`.

The network (a plain `nn.Module`, whatever trained it) is loaded from the run's best checkpoint (else its
last) into the model its own config builds, written beside that checkpoint, loaded back (ONNX through
onnxruntime) and compared with the checkpoint's outputs on the test split: a verified export.
"""

import importlib.util
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from lightning_lessons.cli import parse_key_values
from lightning_lessons.errors import ConfigError, fail, run_or_explain
from lightning_lessons.eval import restored
from lightning_lessons.experiment import quiet_lightning_lines
from lightning_lessons.results.runs import chosen

SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
TOLERANCE = 1e-4  # the largest relative difference an export may show
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")  # the `export` extra: pip install -e '.[export]'
Network = Callable[[Tensor], Tensor]
USAGE = (
    "say which run: make export RUN=logs/<lesson>/<run> FORMAT=onnx|torchscript (or ckpt_path=<checkpoint>)"
)


def write(net: nn.Module, sample: Tensor, path: Path, kind: str) -> Network:
    """Export `net` (in evaluation mode) to `path`, and return the file loaded back as a function."""
    if kind == "torchscript":
        with warnings.catch_warnings():  # PyTorch deprecates TorchScript for torch.export; asked for here
            warnings.simplefilter("ignore", FutureWarning)
            torch.jit.save(torch.jit.script(net), path)
            return torch.jit.load(path)
    missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"format=onnx needs {', '.join(missing)}: pip install -e '.[export]' (make export installs it)"
        )
    import onnxruntime

    batch = torch.export.Dim.DYNAMIC  # any number of inputs, not the sample's
    torch.onnx.export(
        net, (sample,), path, dynamo=True, external_data=False, dynamic_shapes=({0: batch},), verbose=False
    )
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: torch.from_numpy(session.run(None, {name: x.numpy()})[0])


@torch.no_grad()
def largest_difference(reference: Network, exported: Network, batches: list[Tensor]) -> float:
    """max |a - b| / max(1, max |a|) over every batch: a the checkpoint's outputs, b the export's."""
    difference = size = 0.0
    for x in batches:
        a, b = reference(x), exported(x)
        difference = max(difference, float((a - b).abs().max()))
        size = max(size, float(a.abs().max()))
    return difference / max(1.0, size)


def export(run: str | None, ckpt_path: str | None, kind: str) -> tuple[Path, str, float]:
    """The exported file, the split it was checked on, and its largest difference from the checkpoint."""
    if kind not in SUFFIXES:
        raise ConfigError(f"format={kind}: choose {' or '.join(SUFFIXES)}")
    found, checkpoint = chosen(run, ckpt_path, USAGE)
    experiment = restored(found, checkpoint)
    model, data = experiment.model.eval(), experiment.datamodule
    # The test split; lessons without one (R1, R5.1-R5.3: no held-out data) are checked on what they have.
    split = next(name for name in ("test", "val", "train") if data.has_split(name))
    inputs = data.splits[split][0]
    batches = list(inputs.split(data.eval_batch_size or len(inputs)))
    path = checkpoint.with_name(checkpoint.stem + SUFFIXES[kind])
    exported = write(model.net, batches[0], path, kind)
    return path, f"{split} split ({len(inputs)} inputs)", largest_difference(model, exported, batches)


def main() -> None:
    settings, extra = parse_key_values(sys.argv[1:], known=("run", "ckpt_path", "format"))
    quiet_lightning_lines()
    if extra:
        fail(f"unknown: {' '.join(extra)}; {USAGE}")
    kind = settings.get("format", "onnx")
    path, split, difference = run_or_explain(
        lambda: export(settings.get("run"), settings.get("ckpt_path"), kind)
    )
    print(f"exported: {path} ({path.stat().st_size / 1e3:,.0f} kB)")
    print(f"largest difference from the checkpoint's outputs on the {split}: {difference:.2e}")
    print("  (max |a - b| / max(1, max |a|), a the checkpoint's outputs, b the exported model's)")
    if difference > TOLERANCE:
        path.unlink()
        fail(f"the export differs from the checkpoint by {difference:.2e} > {TOLERANCE:g}: removed {path}")


if __name__ == "__main__":
    main()
