"""What each study adds to its table, and the one figure it draws, read back from its runs' own files.

A view adds its derived columns to the completed jobs' metrics, writes `<study folder>/<study>.png`,
and returns lines to print under the table.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from matplotlib.figure import Figure
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import Tensor, nn

from lightning_lessons.callbacks.landscape import LossSurface, loss_surface, parameter_loss, two_parameters
from lightning_lessons.callbacks.plots import surface_figure
from lightning_lessons.callbacks.state_dict import PREDICTIONS, STATE_DICT
from lightning_lessons.results.checkpoints import read_checkpoint, read_tensors
from lightning_lessons.results.runs import Run
from lightning_lessons.results.sweeps import Job

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink"]


def figure_path(folder: Path) -> Path:
    """`<log_dir>/studies/<study>/<stamp>/<study>.png`."""
    return folder / f"{folder.parent.name}.png"


def loss_curve(job: Job, tag: str = "train/loss") -> tuple[list[int], list[float]]:
    """A scalar's steps and values from the job's TensorBoard event files."""
    events = EventAccumulator(str(job.folder), size_guidance={"scalars": 0})
    events.Reload()
    scalars = events.Scalars(tag) if tag in events.Tags()["scalars"] else []
    return [event.step for event in scalars], [event.value for event in scalars]


@dataclass
class Fit:
    """A finished regression run's data and its network at the end of training."""

    train: tuple[Tensor, Tensor]
    val: tuple[Tensor, Tensor] | None
    net: nn.Module
    record: dict

    def curve(self, points: int = 400) -> tuple[Tensor, Tensor]:
        x = self.train[0]
        grid = torch.linspace(float(x.min()), float(x.max()), points).unsqueeze(1)
        with torch.no_grad():
            return grid, self.net(grid)


def fitted(job: Job) -> Fit:
    """The job's data, rebuilt from its saved config and seed, and its network from `last.ckpt`."""
    run = Run(job.folder)
    cfg = run.config()
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    net = instantiate(cfg.model.net)
    weights = read_checkpoint(run.last)["state_dict"]
    net.load_state_dict({k.removeprefix("net."): v for k, v in weights.items() if k.startswith("net.")})
    net.eval()
    return Fit(datamodule.splits["train"], datamodule.splits.get("val"), net, run.metrics() or {})


def _axes(columns: int, width: float = 5.5) -> tuple[Figure, list]:
    figure = Figure(figsize=(width * columns, 4.2), dpi=90)
    return figure, list(figure.subplots(1, columns, squeeze=False)[0])


def _loss_axes(axes, jobs: list[Job], title: str) -> None:
    for job, color in zip(jobs, COLORS, strict=False):
        steps, values = loss_curve(job)
        axes.plot(steps, values, color=color, label=job.folder.name, linewidth=1.5)
    axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("train/loss")
    axes.set_title(title, fontsize="medium")
    axes.legend(fontsize="small")


def _save(figure: Figure, folder: Path) -> str:
    figure.tight_layout()
    path = figure_path(folder)
    figure.savefig(path)
    return f"figure: {path}"


def optimizers(folder: Path, jobs: list[Job]) -> list[str]:
    figure, (axes,) = _axes(1, width=7)
    _loss_axes(axes, jobs, "training loss, one curve per optimizer")
    return [_save(figure, folder)]


def _scatter(axes, x: Tensor, y: Tensor, limit: int = 400, **style) -> None:
    rows = torch.linspace(0, len(x) - 1, min(limit, len(x))).long()
    axes.scatter(x[rows, 0], y[rows, 0], **{"s": 6, "color": "grey", "alpha": 0.5, **style})


def activations(folder: Path, jobs: list[Job]) -> list[str]:
    figure, (fit_axes, loss_axes) = _axes(2)
    for index, (job, color) in enumerate(zip(jobs, COLORS, strict=False)):
        fit = fitted(job)
        if index == 0:
            _scatter(fit_axes, *fit.train, label="data")
        grid, prediction = fit.curve()
        fit_axes.plot(grid[:, 0], prediction[:, 0], color=color, linewidth=2, label=job.folder.name)
    fit_axes.set_title("the fitted curve of each activation", fontsize="medium")
    fit_axes.legend(fontsize="small")
    _loss_axes(loss_axes, jobs, "training loss")
    return [_save(figure, folder)]


def fitting(folder: Path, jobs: list[Job]) -> list[str]:
    """Gap = validation minus training loss: near zero for a network too small to fit (both high),
    large for one big enough to fit the training points' noise."""
    figure, (fit_axes, loss_axes) = _axes(2)
    jobs = jobs[: len(COLORS)]  # one colour each
    for index, (job, color) in enumerate(zip(jobs, COLORS, strict=False)):
        job.metrics["gap"] = job.metrics["val/loss"] - job.metrics["train/loss"]
        fit = fitted(job)
        if index == 0:
            if fit.val is not None:
                _scatter(fit_axes, *fit.val, s=5, label="validation points")
            _scatter(fit_axes, *fit.train, s=30, color="black", zorder=3, label="training points")
        grid, prediction = fit.curve()
        fit_axes.plot(grid[:, 0], prediction[:, 0], color=color, linewidth=1.5, label=job.folder.name)
    fit_axes.set_title("few training points, networks from small to large", fontsize="medium")
    fit_axes.legend(fontsize="x-small")
    positions = torch.arange(len(jobs)).float()
    for offset, metric in ((-0.2, "train/loss"), (0.2, "val/loss")):
        loss_axes.bar(positions + offset, [job.metrics[metric] for job in jobs], width=0.4, label=metric)
    loss_axes.set_xticks(positions.tolist(), [job.folder.name for job in jobs], fontsize="small")
    loss_axes.set_yscale("log")
    loss_axes.set_title("final losses: the gap is over-fitting", fontsize="medium")
    loss_axes.legend(fontsize="small")
    return [_save(figure, folder)]


def line_error(record: dict) -> float:
    """How far a learned line is from the data's outlier-free one: the larger of the weight's and the
    bias's distance to their targets."""
    learned, target = record["parameters"], record["target_parameters"]
    return max(abs(learned[name] - target[name]) for name in target)


def losses(folder: Path, jobs: list[Job]) -> list[str]:
    figure, (axes,) = _axes(1, width=7)
    lines = []
    for index, (job, color) in enumerate(zip(jobs, COLORS, strict=False)):
        fit = fitted(job)
        job.metrics["line_error"] = line_error(fit.record)
        x, y = fit.train
        target = fit.record["target_parameters"]
        clean = target["weight"] * x + target["bias"]
        if index == 0:
            outlier = (y - clean).abs()[:, 0] > (y - clean).abs().median() * 10
            axes.scatter(x[~outlier, 0], y[~outlier, 0], s=10, color="grey", label="data")
            axes.scatter(x[outlier, 0], y[outlier, 0], s=30, color="black", marker="x", label="outliers")
            order = x[:, 0].argsort()
            axes.plot(x[order, 0], clean[order, 0], "k--", linewidth=1, label="outlier-free line")
        grid, prediction = fit.curve()
        learned = fit.record["parameters"]
        label = f"{job.folder.name}: y = {learned['weight']:.3f} x + {learned['bias']:.3f}"
        axes.plot(grid[:, 0], prediction[:, 0], color=color, linewidth=2, label=label)
        lines.append(label)
    axes.set_title("MSE is pulled toward the outliers, L1 hardly moves", fontsize="medium")
    axes.legend(fontsize="small")
    return [*lines, _save(figure, folder)]


def reload_check(job: Job) -> tuple[Tensor, Tensor, Tensor]:
    """Load the job's saved `state_dict` into a fresh network, as the notes do, and predict again:
    the inputs, the trained network's predictions and the reloaded network's."""
    saved = read_tensors(job.folder / PREDICTIONS)  # weights_only: a file of the run folder is data
    fresh = instantiate(Run(job.folder).config().model.net)
    fresh.load_state_dict(read_tensors(job.folder / STATE_DICT))
    fresh.eval()
    with torch.no_grad():
        return saved["x"], saved["prediction"], fresh(saved["x"])


def save_reload(folder: Path, jobs: list[Job]) -> list[str]:
    figure, (axes,) = _axes(1, width=6)
    lines = []
    for job in jobs:
        x, trained, reloaded = reload_check(job)
        job.metrics["reload_max_diff"] = float((trained - reloaded).abs().max())
        identical = torch.equal(trained, reloaded)
        lines.append(f"{job.folder.name}: reloaded predictions identical to the trained ones: {identical}")
        for name, values in (("x", x), ("trained", trained), ("reloaded", reloaded)):
            lines.append(f"  {name:<9}" + " ".join(f"{v:7.3f}" for v in values[:, 0].tolist()))
        axes.plot(x[:, 0], trained[:, 0], color="tab:blue", linewidth=2, label="trained network")
        axes.scatter(
            x[:, 0], reloaded[:, 0], s=40, color="tab:orange", zorder=3, label="reloaded from model.pt"
        )
        axes.set_title(f"predictions after save and reload: identical = {identical}", fontsize="medium")
    axes.set_xlabel("x")
    axes.set_ylabel("prediction")
    axes.legend(fontsize="small")
    return [*lines, _save(figure, folder)]


def recorded_path(job: Job) -> Tensor:
    """The job's parameters after every step: the `LossSurface` callback's state in its `last.ckpt`."""
    return read_checkpoint(Run(job.folder).last)["callbacks"][LossSurface.__qualname__]["path"]


def landscape(folder: Path, jobs: list[Job]) -> list[str]:
    """Every optimizer's path on R1's loss surface, and the condition number of the loss's Hessian:
    the ratio of its steepest to its flattest curvature, which sets how slowly gradient descent moves
    along the flat direction at a rate the steep one allows."""
    fit, cfg = fitted(jobs[0]), Run(jobs[0].folder).config()
    names = two_parameters(fit.net)
    loss = parameter_loss(fit.net, instantiate(cfg.model.loss), *fit.train)
    target = torch.tensor([fit.record["target_parameters"][name] for name in names])
    paths = {job.folder.name: recorded_path(job) for job in jobs}
    for job, path in zip(jobs, paths.values(), strict=True):
        job.metrics.update(dict(zip(names, path[-1].tolist(), strict=True)))
        job.metrics[f"{names[1]}_gap"] = abs(float(path[-1, 1] - target[1]))
    curvatures, directions = torch.linalg.eigh(torch.func.hessian(loss)(target))
    flat, steep = curvatures.tolist()
    slow = directions[:, 0] * directions[1, 0].sign()  # the flat direction, its bias part positive
    lr, epochs = cfg.model.optimizer.lr, cfg.epochs
    axes, surface = loss_surface(loss, torch.cat([*paths.values(), target[None]]), resolution=80)
    title = f"R1's loss surface, {epochs} epochs each (condition number {steep / flat:.0f})"
    figure = surface_figure(axes, surface, paths, names, title, target)
    return [
        f"condition number of R1's loss: {steep / flat:.0f} (its Hessian's curvatures {steep:.4g} and "
        f"{flat:.4g}); the flat direction ({names[0]}, {names[1]}) = "
        f"({slow[0]:.3f}, {slow[1]:.3f}) is almost the {names[1]} alone",
        f"{jobs[0].folder.name} at lr {lr:g} keeps {1 - lr * flat:.5f} of its distance along it an epoch: "
        f"{(1 - lr * flat) ** epochs:.1%} left after {epochs} epochs; lr above 2 / {steep:.4g} = "
        f"{2 / steep:.2g} diverges across the valley",
        f"least squares: {names[0]} {target[0]:.4f}, {names[1]} {target[1]:.4f}",
        _save(figure, folder),
    ]


VIEWS: dict[str, Callable[[Path, list[Job]], list[str]]] = {
    "optimizers": optimizers,
    "optimizers_mnist": optimizers,
    "activations": activations,
    "fitting": fitting,
    "losses": losses,
    "save_reload": save_reload,
    "landscape": landscape,
}


def finish(study: str, folder: Path, jobs: list[Job]) -> list[str]:
    """The study's derived columns and figure, over its completed jobs (none: nothing to draw)."""
    completed = [job for job in jobs if job.status == "completed"]
    view = VIEWS.get(study)
    return view(folder, completed) if view is not None and completed else []
