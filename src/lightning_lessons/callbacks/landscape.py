"""The loss surface of a two-parameter lesson (R1: w and b; R2: weight and bias) and the path its
parameters took across it."""

from collections.abc import Callable

import lightning as L
import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.utils.tensorboard import SummaryWriter

from lightning_lessons.callbacks.every_n_epochs import EveryNEpochs
from lightning_lessons.callbacks.plots import surface_figure
from lightning_lessons.errors import ConfigError


def two_parameters(net: nn.Module) -> list[str]:
    """The names of the net's two one-number parameters (ConfigError for any other net): the surface's
    axes."""
    shapes = {name: param.numel() for name, param in net.named_parameters()}
    if list(shapes.values()) != [1, 1]:
        raise ConfigError(
            f"callbacks.loss_surface draws networks of two one-number parameters (R1, R2); "
            f"{type(net).__name__} has {sum(shapes.values())} numbers: set callbacks.loss_surface=null"
        )
    return list(shapes)


def parameter_loss(net: nn.Module, loss_fn: nn.Module, x: Tensor, y: Tensor) -> Callable[[Tensor], Tensor]:
    """The training loss as a function of the net's two parameters stacked in one vector, the net
    itself untouched (`torch.func.functional_call`): what `vmap` draws and `hessian` differentiates."""
    shapes = {name: param.shape for name, param in net.named_parameters()}

    def loss(point: Tensor) -> Tensor:
        values = zip(shapes.items(), point, strict=True)
        params = {name: value.reshape(shape) for (name, shape), value in values}
        return loss_fn(functional_call(net, params, (x,)), y)

    return loss


def loss_surface(
    loss: Callable[[Tensor], Tensor], points: Tensor, resolution: int, margin: float = 0.15
) -> tuple[tuple[Tensor, Tensor], Tensor]:
    """The loss on a `resolution`-square grid over the box of `points` (N x 2), widened by `margin` of
    its span on each side: the grid's two axes, and the loss with one row per value of the second
    parameter (as matplotlib's `contour` takes it), computed in one batched call (`torch.vmap`)."""
    low, high = points.min(dim=0).values, points.max(dim=0).values
    pad = (high - low).clamp(min=1e-3) * margin
    first, second = (
        torch.linspace(float(a), float(b), resolution) for a, b in zip(low - pad, high + pad, strict=True)
    )
    mesh = torch.stack(torch.meshgrid(first, second, indexing="xy"), dim=-1).to(points.device)
    with torch.no_grad():
        values = torch.vmap(loss)(mesh.reshape(-1, 2)).reshape(mesh.shape[:2])
    return (first, second), values.float().cpu()


class LossSurface(EveryNEpochs):
    """Contours of the training loss over the network's two parameters, with the parameters after every
    step as one path (`loss_surface`): R1's long valley along the bias is why its bias still moves after
    10,000 epochs. The path is the callback's checkpointed state, so a resumed run draws it whole.

    Data sets over `max_points` rows are evaluated on that many evenly spaced ones (R2 has 90,000)."""

    def __init__(self, every_n_epochs: int = 4, resolution: int = 60, max_points: int = 2000) -> None:
        super().__init__(every_n_epochs)
        self.resolution = resolution
        self.max_points = max_points
        self.path: list[Tensor] = []

    @staticmethod
    def point(pl_module: L.LightningModule) -> Tensor:
        return torch.cat([param.detach().reshape(-1) for param in pl_module.net.parameters()])

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        two_parameters(pl_module.net)
        # A resumed run has its path back from the checkpoint (on the CPU); a new one starts it here.
        self.path = [point.to(pl_module.device) for point in self.path] or [self.point(pl_module)]

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: object) -> None:
        self.path.append(self.point(pl_module))  # on the device: no wait for it, at every step

    def draw(self, trainer: L.Trainer, pl_module: L.LightningModule, writer: SummaryWriter) -> None:
        names = two_parameters(pl_module.net)
        path = torch.stack(self.path)
        targets = getattr(trainer.datamodule, "target_parameters", None) or {}
        target = torch.tensor([targets[name] for name in names]) if targets.keys() == set(names) else None
        points = path if target is None else torch.cat([path, target[None].to(path)])
        x, y = trainer.datamodule.splits["train"]
        rows = torch.linspace(0, len(x) - 1, min(len(x), self.max_points)).long()
        loss = parameter_loss(
            pl_module.net, pl_module.loss_fn, x[rows].to(path.device), y[rows].to(path.device)
        )
        axes, surface = loss_surface(loss, points, self.resolution)
        if getattr(pl_module.loss_fn, "reduction", "mean") == "sum":
            surface *= len(x) / len(rows)  # a sum over fewer rows, scaled back to the whole set's
        path = path.float().cpu()
        title = f"step {trainer.global_step}: {names[0]} {path[-1, 0]:.4g}, {names[1]} {path[-1, 1]:.4g}"
        figure = surface_figure(axes, surface, {"path": path}, names, title, target)
        writer.add_figure("loss_surface", figure, trainer.global_step)

    def state_dict(self) -> dict[str, Tensor]:
        return {"path": torch.stack(self.path).cpu()} if self.path else {}

    def load_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        self.path = list(state_dict.get("path", []))
