"""How fast each lesson trains here: the project's Trainer run against its plain PyTorch twin.

For each lesson, in this one process and in turn: the project's run as a user runs it (progress,
validation, logging, checkpoints, TensorBoard figures all on) and the lesson's twin
(lightning_lessons.twins: the notes' own loop on the same config, batches, network, loss and
optimizer). Steps are timed after a warm-up; the ratio is taken within each repeat (this shared
machine's speed drifts between repeats) and its median reported. Then, for MNIST, the input pipeline
alone: the project's bulk tensor pipeline against torchvision's per-image PIL path.

    python scripts/benchmark.py                                  # every lesson, its own length
    python scripts/benchmark.py --lessons nonlinear_regression --steps 2000
    python scripts/benchmark.py --data-dir ../shared/data        # where MNIST's raw files are
    python scripts/benchmark.py --lessons denoise_mlp -- model.optimizer.fused=false  # any override
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import NoReturn

import lightning as L
import torch

from lightning_lessons.cli import check_command_line
from lightning_lessons.config import compose
from lightning_lessons.data import MNISTDataModule, TensorLoader
from lightning_lessons.data.mnist import local_data_dir
from lightning_lessons.errors import UserError, fail
from lightning_lessons.experiment import quiet_lightning_lines
from lightning_lessons.lessons import lesson_names
from lightning_lessons.schema import AT_LEAST_ONE, Bound
from lightning_lessons.twins import run_twin
from lightning_lessons.twins.compare import run_lesson

MNIST_STEPS = 40  # of batches of 64; smaller batches get more steps, for as many images
MNIST_LESSONS = {"mnist_cnn", "denoise_mlp", "denoise_conv", "transfer_fashion"}


def lesson_overrides(lesson: str, steps: int | None, data_dir: str) -> list[str]:
    """Overrides that make the run as long as the measurement needs."""
    cfg = compose([f"lesson={lesson}", "paths.output_dir=unused"])
    if lesson == "transfer_fashion":  # 16 steps an epoch of 1,000 labelled images
        return ["trainer.max_epochs=2", f"paths.data_dir={data_dir}", "data.download=false"]
    if lesson in MNIST_LESSONS:
        batches = 3 + MNIST_STEPS * max(1, 64 // cfg.data.batch_size)
        return [
            "trainer.max_epochs=1",
            f"+trainer.limit_train_batches={batches}",
            "+trainer.limit_val_batches=1",
            f"paths.data_dir={data_dir}",
            "data.download=false",
        ]
    return [f"epochs={steps or cfg.epochs}"]


def transfer_source(data_dir: str, folder: Path) -> list[str]:
    """T1 transfers V1's weights: a one-step V1 run, and Fashion-MNIST beside MNIST in `folder`."""
    data = folder / "data"
    data.mkdir()
    (data / "MNIST").symlink_to(Path(data_dir).resolve() / "MNIST")
    source = folder / "source"
    overrides = ["trainer.max_epochs=1", "+trainer.limit_train_batches=1", "data.download=false"]
    with redirect_stdout(io.StringIO()):
        run_lesson(config("mnist_cnn", [f"paths.data_dir={data}", *overrides], str(source)))
    return [f"model.pretrained.checkpoint={source / 'checkpoints' / 'last.ckpt'}", f"paths.data_dir={data}"]


def config(lesson: str, overrides: list[str], output_dir: str):
    return compose([f"lesson={lesson}", f"paths.output_dir={output_dir}", "print_config=false", *overrides])


def times(lesson: str, overrides: list[str]) -> tuple[float, float, int]:
    """ms per step of the project's run and of the twin, and the steps timed."""
    with tempfile.TemporaryDirectory() as output_dir, redirect_stdout(io.StringIO()):
        project = run_lesson(config(lesson, overrides, output_dir))  # its progress bar on, unseen
    with tempfile.TemporaryDirectory() as output_dir:
        twin = run_twin(config(lesson, overrides, output_dir))
    return project.ms_per_step, twin.ms_per_step, twin.timed_steps


def pipeline_images_per_second(data_dir: str, batches: int = 200) -> list[tuple[str, float]]:
    """Images per second delivered as normalised training batches of 64, by each input pipeline."""
    import time

    datamodule = MNISTDataModule(data_dir=data_dir, download=False, batch_size=64)
    start = time.perf_counter()
    datamodule.setup()
    preload = time.perf_counter() - start
    train_images, train_labels = datamodule.splits["train"]
    rows = []
    loader = TensorLoader((train_images, train_labels), batch_size=64, shuffle=True)
    start = time.perf_counter()
    count = sum(len(x) for x, _ in loader)
    rows.append(
        (f"tensor (this project; one-off preload {preload:.2f} s)", count / (time.perf_counter() - start))
    )
    for workers in (0, 2):
        datamodule.num_workers = workers
        loader = datamodule.torchvision_loader("train")
        start, count = time.perf_counter(), 0
        for index, (x, _) in enumerate(loader):
            count += len(x)
            if index + 1 == batches:
                break
        rows.append((f"torchvision PIL, {workers} worker(s)", count / (time.perf_counter() - start)))
    return rows


class Parser(argparse.ArgumentParser):
    """argparse, with a bad argument told as the project's one `error:` line (exit 2, no usage block)."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (python scripts/benchmark.py --help)")


def bounded(bound: Bound) -> Callable[[str], int]:
    """An argparse type: an integer within `bound`, said as the config checks say it."""

    def integer(text: str) -> int:
        value = int(text)  # a ValueError is argparse's "invalid integer value"
        if not bound.admits(value):
            raise argparse.ArgumentTypeError(f"{value} is out of range: must be {bound.describe()}")
        return value

    return integer


def checked_overrides(lessons: list[str], steps: int | None, data_dir: str, extra: list[str]) -> None:
    """Every lesson's command line checked as `train` checks it, before the first run."""
    for lesson in lessons:
        problem = check_command_line([f"lesson={lesson}", *lesson_overrides(lesson, steps, data_dir), *extra])
        if problem:
            fail(f"{lesson}: {problem}")


def main(argv: list[str] | None = None) -> None:
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", nargs="+", default=lesson_names(), choices=lesson_names())
    parser.add_argument(
        "--steps",
        type=bounded(AT_LEAST_ONE),
        default=None,
        help="full-batch lessons: default, each lesson's own",
    )
    parser.add_argument(
        "--repeats",
        type=bounded(Bound(low=1, high=100)),
        default=3,
        metavar="1..100",
        help="runs of each; medians",
    )
    parser.add_argument("--data-dir", default=str(local_data_dir()))
    parser.add_argument("--no-pipeline", action="store_true", help="skip the MNIST input pipeline table")
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides for every run, e.g. model.optimizer.fused=false"
    )
    args = parser.parse_args(argv)
    quiet_lightning_lines()  # Lightning's banners: the table is the output
    checked_overrides(args.lessons, args.steps, args.data_dir, args.overrides)
    has_mnist = (Path(args.data_dir) / "MNIST" / "raw").is_dir()

    rows = []
    default_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as scratch:
        for lesson in args.lessons:
            torch.set_num_threads(default_threads)  # a lesson's num_threads must not carry over
            if lesson in MNIST_LESSONS and not has_mnist:
                print(f"skipping {lesson}: no MNIST under {args.data_dir} (use --data-dir)")
                continue
            overrides = lesson_overrides(lesson, args.steps, args.data_dir) + args.overrides
            try:
                if lesson == "transfer_fashion":
                    overrides += transfer_source(args.data_dir, Path(scratch))
                runs = [times(lesson, overrides) for _ in range(args.repeats)]
            except UserError as error:  # its data missing or broken: every other row still counts
                print(f"skipping {lesson}: {str(error).splitlines()[0]}", flush=True)
                continue
            project, plain = (statistics.median(run[i] for run in runs) for i in (0, 1))
            ratio = statistics.median(run[0] / run[1] for run in runs)
            batch = compose([f"lesson={lesson}", "paths.output_dir=unused"]).data.get("batch_size")
            rows.append(
                (lesson, runs[0][2], batch if lesson in MNIST_LESSONS else None, plain, project, ratio)
            )
            print(f"{lesson}: plain {plain:.3f} ms, project {project:.3f} ms, {ratio:.2f}x", flush=True)

    print(
        f"\n{'lesson':<32} {'steps':>6} {'plain twin':>11} {'project':>11} {'ratio':>6} "
        f"{'Lightning':>10} {'images/s plain | project':>25}"
    )
    for lesson, steps, batch, plain_ms, project_ms, ratio in rows:
        images = f"{1000 * batch / plain_ms:>11.0f} | {1000 * batch / project_ms:<11.0f}" if batch else ""
        price = f"{1000 * (project_ms - plain_ms):>7.0f} us"  # what the framework adds to each step
        print(
            f"{lesson:<32} {steps:>6} {plain_ms:>8.3f} ms {project_ms:>8.3f} ms {ratio:>5.2f}x "
            f"{price:>10} {images:>25}"
        )
    print(
        f"ms per training step (update), median of {args.repeats} repeats after a warm-up; ratio: project /"
    )
    print("plain twin, the median of the ratios within each repeat. The project's run has its defaults on.")
    print("Lightning: what the framework adds to each step (project minus twin), all hooks and logging in.")
    print(f"torch {torch.__version__}, lightning {L.__version__}, threads: each lesson's own, device cpu,")
    print(f"{os.cpu_count()} CPUs.")

    if has_mnist and not args.no_pipeline and MNIST_LESSONS & set(args.lessons):
        pipelines = pipeline_images_per_second(args.data_dir)
        print(f"\n{'MNIST input pipeline (batches of 64, normalised)':<52} {'images/s':>10} {'speed-up':>9}")
        for name, rate in pipelines:
            print(f"{name:<52} {rate:>10.0f} {rate / pipelines[1][1]:>8.1f}x")


if __name__ == "__main__":
    main()
