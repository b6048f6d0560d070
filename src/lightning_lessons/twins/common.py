"""What every twin shares: the lesson's settings, seeding, data, network, and the timing of its steps."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor, nn

from lightning_lessons.data.base import TensorDataModule

WARMUP = 3  # steps before timing starts: the first ones pay for allocations and lazy initialisation


@dataclass
class TwinRun:
    """A twin's trained weights, named as in the lesson's LightningModule, its last training loss, and
    how long its steps took after the warm-up."""

    parameters: dict[str, Tensor]
    loss: float
    steps: int
    timed_steps: int = 0
    seconds: float = 0.0

    @property
    def ms_per_step(self) -> float:
        return 1000 * self.seconds / self.timed_steps if self.timed_steps else float("nan")


class StepClock:
    """Wall time of the steps after the first `WARMUP`."""

    def __init__(self) -> None:
        self.steps, self.start, self.end = 0, 0.0, 0.0

    def tick(self) -> None:
        self.steps += 1
        now = time.perf_counter()
        if self.steps == WARMUP:
            self.start = now
        self.end = now

    def finish(self, run: TwinRun) -> TwinRun:
        run.steps = self.steps
        if self.steps > WARMUP:
            run.timed_steps, run.seconds = self.steps - WARMUP, self.end - self.start
        return run


def prepare(cfg: DictConfig) -> TensorDataModule:
    """Threads and seed as the lesson sets them, then the lesson's data module, ready to serve batches.
    The network is built after this, so it draws the same initial weights as the lesson's."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    if cfg.data_fraction < 1:
        datamodule.keep_fraction(cfg.data_fraction)
    return datamodule


def network(cfg: DictConfig) -> nn.Module:
    """The lesson's plain network, in channels_last where the lesson trains it so (same arithmetic)."""
    net = instantiate(cfg.model.net)
    return net.to(memory_format=torch.channels_last) if cfg.model.get("channels_last") else net


def loss_function(cfg: DictConfig) -> nn.Module:
    """The configured loss, else the default of the lesson's module (MSE, or cross-entropy on logits)."""
    if cfg.model.get("loss") is not None:
        return instantiate(cfg.model.loss)
    return nn.CrossEntropyLoss() if "num_classes" in cfg.model else nn.MSELoss()


def images(x: Tensor, cfg: DictConfig) -> Tensor:
    if cfg.model.get("channels_last") and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def batches(cfg: DictConfig, datamodule: TensorDataModule) -> Iterator[tuple[Tensor, ...]]:
    """Every training batch of every epoch, in the order the Trainer serves them (to `max_epochs`, or
    `max_steps` when set): the loader reseeded per epoch (`set_epoch`), `limit_train_batches` honoured,
    the data module's per-batch hook applied (D1/D2 draw their training noise there)."""
    loader = datamodule.train_dataloader()
    limit = cfg.trainer.get("limit_train_batches")
    count = len(loader)
    if isinstance(limit, float):
        count = int(count * limit)
    elif isinstance(limit, int):
        count = min(count, limit)
    steps = cfg.trainer.get("max_steps", -1)
    done = 0
    for epoch in range(cfg.trainer.max_epochs):
        loader.sampler.set_epoch(epoch)
        for index, batch in enumerate(loader):
            if index == count or done == steps:
                return
            done += 1
            yield datamodule.on_after_batch_transfer(batch, 0)


def named(**modules: nn.Module) -> dict[str, Tensor]:
    """Weights named as the LightningModule names them (`net.0.weight`, `scratch.0.weight`)."""
    return {
        f"{prefix}.{name}": param.detach().clone()
        for prefix, module in modules.items()
        for name, param in module.named_parameters()
    }


Step = Callable[[tuple[Tensor, ...]], Tensor]


def train(cfg: DictConfig, datamodule: TensorDataModule, step: Step, **modules: nn.Module) -> TwinRun:
    """Run `step` on every batch; returns the `modules`' weights, the last loss and the step times."""
    clock, last = StepClock(), None
    for batch in batches(cfg, datamodule):
        last = step(batch)
        clock.tick()
    return clock.finish(TwinRun(named(**modules), float("nan") if last is None else float(last), 0))
