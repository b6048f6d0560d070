"""The weight and gradient histograms' own time against a training epoch's, for V1, D2 and T1.

Each lesson trains `--batches` steps under Lightning's SimpleProfiler (`debug=profile`); the table
reads the profiler's report: the mean training step times the steps of a whole epoch (the real data
set's), against what `ParameterHistograms`' hooks took per epoch. `python scripts/bench_histograms.py`.
"""

from __future__ import annotations

import argparse
import math
import re
import tempfile
from pathlib import Path

from hydra.utils import instantiate

from lightning_lessons.config import compose
from lightning_lessons.data.mnist import local_data_dir
from lightning_lessons.results.tables import aligned
from lightning_lessons.train import train

HOOKS = ("on_validation_epoch_end", "on_before_optimizer_step")


def profile(report: Path) -> dict[str, tuple[float, int]]:
    """Each action of a SimpleProfiler report: (mean seconds, calls)."""
    rows = re.findall(r"\|\s+(\S+)\s+\|\s+(\d[\d.e+-]*)\s+\|\s+(\d+)\s+\|", report.read_text())
    return {action: (float(mean), int(calls)) for action, mean, calls in rows}


def measure(lesson: str, overrides: list[str], folder: Path, batches: int) -> list[str]:
    cfg = compose(
        [
            f"lesson={lesson}",
            f"paths.output_dir={folder / lesson}",
            "debug=profile",
            "trainer.max_epochs=2",
            f"+trainer.limit_train_batches={batches}",
            "callbacks.progress=null",
            "callbacks.embedding=null",
            "test=false",
            *overrides,
        ]
    )
    train(cfg)
    actions = profile(folder / lesson / "fit-profile.txt")
    step, _ = actions["run_training_batch"]
    full = compose([f"lesson={lesson}", *overrides])
    datamodule = instantiate(full.data)
    datamodule.setup("fit")
    steps = math.ceil(len(datamodule.splits["train"][0]) / full.data.batch_size)
    epochs = cfg.trainer.max_epochs
    own = sum(
        mean * calls for hook in HOOKS for mean, calls in [actions[f"[Callback]ParameterHistograms.{hook}"]]
    )
    per_epoch = own / epochs
    return [
        lesson,
        f"{steps}",
        f"{step * 1000:.0f}",
        f"{step * steps:.1f}",
        f"{per_epoch:.3f}",
        f"{per_epoch / (step * steps):.2%}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=str(local_data_dir()))
    parser.add_argument("--batches", type=int, default=20, help="training steps an epoch to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "data").mkdir()
        (folder / "data" / "MNIST").symlink_to(Path(args.data_dir).resolve() / "MNIST")
        data = [f"paths.data_dir={folder / 'data'}", "data.download=false"]
        rows = [measure("mnist_cnn", data, folder, args.batches)]
        rows.append(measure("denoise_conv", data, folder, args.batches))
        source = folder / "mnist_cnn" / "checkpoints" / "last.ckpt"
        rows.append(
            measure(
                "transfer_fashion", [*data[:1], f"model.pretrained.checkpoint={source}"], folder, args.batches
            )
        )
    header = ["lesson", "steps/epoch", "ms/step", "epoch s", "histograms s/epoch", "share"]
    print("\n".join(aligned([header, *rows])))


if __name__ == "__main__":
    main()
