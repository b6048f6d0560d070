"""How fast the lessons train here: the project's Trainer run against a plain PyTorch loop.

For each lesson, in this one process and side by side: the project's run as a user runs it
(validation, logging, checkpoints, TensorBoard figures all on), a plain PyTorch loop doing the same
steps on the same batches (noise included: it calls the data module's per-batch hook as the Trainer
does), network, loss and optimizer, and Lightning's own floor,
`Trainer(barebones=True)`. Steps are timed after a warm-up. Then, for MNIST, the input pipeline alone:
the project's bulk tensor pipeline against torchvision's per-image PIL path.

    python scripts/benchmark.py                                  # R2, R4 (10,000 epochs), V1, D1, D2
    python scripts/benchmark.py --lessons nonlinear_regression --epochs 2000
    python scripts/benchmark.py --data-dir ../shared/data        # where MNIST's raw files are
    python scripts/benchmark.py --lessons denoise_mlp -- model.optimizer.fused=false  # any override
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from lightning_lessons.config import compose
from lightning_lessons.data import MNISTDataModule, TensorLoader
from lightning_lessons.data.mnist import local_data_dir
from lightning_lessons.train import build

WARMUP = 3
MNIST_STEPS = 40  # of batches of 64; smaller batches get more steps, for as many images
MNIST_LESSONS = {"mnist_cnn", "denoise_mlp", "denoise_conv"}


class StepTimer(L.Callback):
    """Wall time from the end of training step `warmup` to the end of step `warmup + steps`."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.count, self.start, self.seconds = 0, 0.0, float("nan")

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        self.count += 1
        if self.count == self.warmup:
            self.start = time.perf_counter()
        elif self.count == self.warmup + self.steps:
            self.seconds = time.perf_counter() - self.start


def lesson_overrides(lesson: str, epochs: int | None, data_dir: str) -> tuple[list[str], int]:
    """Overrides that make the run as long as the measurement needs, and the steps to time."""
    cfg = compose([f"lesson={lesson}", "paths.output_dir=unused"])
    if lesson in MNIST_LESSONS:
        steps = MNIST_STEPS * max(1, 64 // cfg.data.batch_size)
        batches = WARMUP + steps
        return [
            "trainer.max_epochs=1",
            f"+trainer.limit_train_batches={batches}",
            "+trainer.limit_val_batches=1",
            f"paths.data_dir={data_dir}",
            "data.download=false",
        ], steps
    total = epochs or cfg.trainer.max_epochs
    return [f"trainer.max_epochs={total}"], total - WARMUP


def config(lesson: str, overrides: list[str], output_dir: str):
    return compose(
        [f"lesson={lesson}", f"paths.output_dir={output_dir}", "callbacks.progress=null", *overrides]
    )


def project_ms_per_step(lesson: str, overrides: list[str], steps: int) -> float:
    with tempfile.TemporaryDirectory() as output_dir:
        experiment = build(config(lesson, overrides, output_dir))
        timer = StepTimer(WARMUP, steps)
        experiment.trainer.callbacks.append(timer)
        experiment.trainer.fit(experiment.model, datamodule=experiment.datamodule)
    return 1000 * timer.seconds / steps


def barebones_ms_per_step(lesson: str, overrides: list[str], steps: int) -> float:
    """`Trainer(barebones=True)`: no logging, checkpoints, progress bar or callbacks of ours."""
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = config(lesson, overrides, output_dir)
        experiment = build(cfg)
        timer = StepTimer(WARMUP, steps)
        trainer = L.Trainer(
            barebones=True,
            max_epochs=cfg.trainer.max_epochs,
            accelerator="cpu",
            devices=1,
            callbacks=[timer],
            check_val_every_n_epoch=cfg.trainer.check_val_every_n_epoch,
            limit_train_batches=cfg.trainer.get("limit_train_batches"),
            limit_val_batches=0,
        )
        trainer.fit(experiment.model, datamodule=experiment.datamodule)
    return 1000 * timer.seconds / steps


def plain_ms_per_step(lesson: str, overrides: list[str], steps: int) -> float:
    """The notes' loop: zero_grad, forward, loss, backward, step, on the lesson's own batches."""
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = config(lesson, overrides, output_dir)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    module = instantiate(cfg.model)  # calling it runs the network (channels_last as in the lesson)
    optimizer = module.optimizer_factory(module.parameters())
    module.train()
    done, start = 0, 0.0
    while done < WARMUP + steps:
        for batch in datamodule.train_dataloader():
            x, y = datamodule.on_after_batch_transfer(batch, 0)
            optimizer.zero_grad()
            loss = module.loss_fn(module(x), y)
            loss.backward()
            optimizer.step()
            done += 1
            if done == WARMUP:
                start = time.perf_counter()
            if done == WARMUP + steps:
                break
    return 1000 * (time.perf_counter() - start) / steps


def paired_ratio(times: list[float], plain: list[float]) -> float:
    return statistics.median(t / p for t, p in zip(times, plain, strict=True))


def pipeline_images_per_second(data_dir: str, batches: int = 200) -> list[tuple[str, float]]:
    """Images per second delivered as normalised training batches of 64, by each input pipeline."""
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
        loader: DataLoader = datamodule.torchvision_loader("train")
        start, count = time.perf_counter(), 0
        for index, (x, _) in enumerate(loader):
            count += len(x)
            if index + 1 == batches:
                break
        rows.append((f"torchvision PIL, {workers} worker(s)", count / (time.perf_counter() - start)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--lessons",
        nargs="+",
        default=["linear_regression", "nonlinear_regression", "mnist_cnn", "denoise_mlp", "denoise_conv"],
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="full-batch lessons: default, each lesson's own"
    )
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each; medians reported")
    parser.add_argument("--data-dir", default=str(local_data_dir()))
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides for every run, e.g. model.optimizer.fused=false"
    )
    args = parser.parse_args()
    has_mnist = (Path(args.data_dir) / "MNIST" / "raw").is_dir()

    rows = []
    default_threads = torch.get_num_threads()
    for lesson in args.lessons:
        torch.set_num_threads(default_threads)  # a lesson's num_threads must not carry over to the next
        if lesson in MNIST_LESSONS and not has_mnist:
            print(f"skipping {lesson}: no MNIST under {args.data_dir} (use --data-dir)")
            continue
        overrides, steps = lesson_overrides(lesson, args.epochs, args.data_dir)
        overrides += args.overrides
        times: dict[str, list[float]] = {"plain": [], "floor": [], "project": []}
        for _ in range(args.repeats):
            times["project"].append(project_ms_per_step(lesson, overrides, steps))
            times["plain"].append(plain_ms_per_step(lesson, overrides, steps))
            times["floor"].append(barebones_ms_per_step(lesson, overrides, steps))
        batch = compose([f"lesson={lesson}", "paths.output_dir=unused"]).data.get("batch_size")
        medians = [statistics.median(times[k]) for k in ("plain", "floor", "project")]
        # Ratios within a repeat, then their median: this shared machine's speed drifts between repeats.
        ratios = [paired_ratio(times[k], times["plain"]) for k in ("project", "floor")]
        rows.append((lesson, steps, batch, *medians, *ratios))

    print(
        f"\n{'lesson':<22} {'steps':>6} {'plain loop':>11} {'barebones':>11} {'project':>11} {'ratio':>6} "
        f"{'floor':>6} {'images/s plain | project':>25}"
    )
    for lesson, steps, batch, plain_ms, floor_ms, project_ms, ratio, floor in rows:
        images = f"{1000 * batch / plain_ms:>11.0f} | {1000 * batch / project_ms:<11.0f}" if batch else ""
        print(
            f"{lesson:<22} {steps:>6} {plain_ms:>8.2f} ms {floor_ms:>8.2f} ms {project_ms:>8.2f} ms "
            f"{ratio:>5.2f}x {floor:>5.2f}x {images:>25}"
        )
    print("ms per training step, median of the repeats, after a warm-up. ratio: project / plain loop;")
    print("floor: Trainer(barebones=True) / plain loop, the least any Lightning run of these steps costs.")
    print("Both ratios are medians of the ratios within each repeat (each repeat runs the three in turn).")
    print(f"torch {torch.__version__}, lightning {L.__version__}, threads: each lesson's own, device cpu.")

    if has_mnist and MNIST_LESSONS & set(args.lessons):
        pipelines = pipeline_images_per_second(args.data_dir)
        print(f"\n{'MNIST input pipeline (batches of 64, normalised)':<52} {'images/s':>10} {'speed-up':>9}")
        for name, rate in pipelines:
            print(f"{name:<52} {rate:>10.0f} {rate / pipelines[1][1]:>8.1f}x")


if __name__ == "__main__":
    main()
