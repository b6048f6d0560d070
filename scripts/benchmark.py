"""Time per training step: the project's Trainer run against a plain PyTorch loop doing the same work.

Both run in this one process, side by side, on the same data, network, loss and optimizer, with the
lesson's own thread count. The Trainer run is the lesson as a user runs it (validation, logging,
checkpoints, TensorBoard figures all on), timed from the first to the last training step.

    python scripts/benchmark.py                      # R2 and R4 at the notes' 10,000 epochs
    python scripts/benchmark.py --epochs 2000 --lessons nonlinear_regression
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import lightning as L
import torch
from hydra.utils import instantiate

from lightning_lessons.config import compose
from lightning_lessons.train import build


class StepTimer(L.Callback):
    """Wall time of the fit loop only: from the first training step's start to the last one's end."""

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds = time.perf_counter() - self.start
        self.steps = trainer.global_step


def lesson_config(lesson: str, epochs: int | None, output_dir: str):
    overrides = [f"lesson={lesson}", f"paths.output_dir={output_dir}", "callbacks.progress=null"]
    return compose(overrides + ([f"trainer.max_epochs={epochs}"] if epochs else []))


def project_ms_per_step(lesson: str, epochs: int | None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as output_dir:
        experiment = build(lesson_config(lesson, epochs, output_dir))
        timer = StepTimer()
        experiment.trainer.callbacks.append(timer)
        experiment.trainer.fit(experiment.model, datamodule=experiment.datamodule)
    return 1000 * timer.seconds / timer.steps, timer.steps


def barebones_ms_per_step(lesson: str, epochs: int | None) -> float:
    """Lightning's own floor: `Trainer(barebones=True)` (no logging, checkpoints, progress, hooks of ours)."""
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = lesson_config(lesson, epochs, output_dir)
        experiment = build(cfg)
        timer = StepTimer()
        trainer = L.Trainer(
            barebones=True,
            max_epochs=cfg.trainer.max_epochs,
            accelerator="cpu",
            devices=1,
            check_val_every_n_epoch=cfg.trainer.check_val_every_n_epoch,
            callbacks=[timer],
        )
        trainer.fit(experiment.model, datamodule=experiment.datamodule)
    return 1000 * timer.seconds / timer.steps


def plain_ms_per_step(lesson: str, steps: int) -> float:
    """The loop the notes write: zero_grad, forward, loss, backward, step, over the same batches."""
    with tempfile.TemporaryDirectory() as output_dir:
        cfg = lesson_config(lesson, None, output_dir)
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        torch.manual_seed(cfg.seed)
        datamodule = instantiate(cfg.data)
        datamodule.setup()
        module = instantiate(cfg.model)
    net, loss_fn = module.net, module.loss_fn
    optimizer = module.optimizer_factory(net.parameters())
    loader = datamodule.train_dataloader()
    done = 0
    start = time.perf_counter()
    while done < steps:
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return 1000 * (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lessons", nargs="+", default=["linear_regression", "nonlinear_regression"])
    parser.add_argument("--epochs", type=int, default=None, help="default: each lesson's own")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each; medians reported")
    args = parser.parse_args()

    rows = []
    for lesson in args.lessons:
        project, plain, floor = [], [], []
        for _ in range(args.repeats):
            ms, steps = project_ms_per_step(lesson, args.epochs)
            project.append(ms)
            plain.append(plain_ms_per_step(lesson, steps))
            floor.append(barebones_ms_per_step(lesson, args.epochs))
        rows.append((lesson, steps, *(statistics.median(t) for t in (plain, floor, project))))

    print(
        f"\n{'lesson':<24} {'steps':>6} {'plain loop':>11} {'barebones':>10} {'project':>9} {'ratio':>6} "
        f"{'floor':>6}"
    )
    for lesson, steps, plain_ms, floor_ms, project_ms in rows:
        print(
            f"{lesson:<24} {steps:>6} {plain_ms:>8.3f} ms {floor_ms:>7.3f} ms {project_ms:>6.3f} ms "
            f"{project_ms / plain_ms:>5.2f}x {floor_ms / plain_ms:>5.2f}x"
        )
    print("\nms per training step (median of the repeats). ratio: project / plain loop; floor: Lightning's")
    print("Trainer(barebones=True) / plain loop, the least any Lightning run of these steps can cost.")
    print(
        f"\ntorch {torch.__version__}, lightning {L.__version__}, {torch.get_num_threads()} thread(s), "
        f"device cpu; the project's run includes validation, logging, checkpoints and figures."
    )


if __name__ == "__main__":
    main()
