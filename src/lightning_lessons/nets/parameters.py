"""Reading a small network's parameters as named numbers."""

from torch import nn


def scalar_parameters(module: nn.Module, limit: int = 16) -> dict[str, float]:
    """`{"weight": 1.01, "bias": 0.6}` for a small model, `{}` when it has more than `limit` numbers.
    Named (`weight[2]`, ...) as data modules name their generating parameters, so the two line up."""
    params = dict(module.named_parameters())
    if sum(p.numel() for p in params.values()) > limit:
        return {}
    values: dict[str, float] = {}
    for name, param in params.items():
        flat = param.detach().flatten().tolist()
        if len(flat) == 1:
            values[name] = flat[0]
        else:
            values.update({f"{name}[{i}]": value for i, value in enumerate(flat)})
    return values
