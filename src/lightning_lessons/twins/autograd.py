"""A1 as the notes write it: `x = ones(2, requires_grad=True); z = 4 * x; y = z.norm(); y.backward()`."""

import torch
from torch import Tensor


def notes_gradient() -> tuple[Tensor, Tensor]:
    """`y` and `x.grad` (the notes print 5.6569 and [2.8284, 2.8284])."""
    x = torch.ones(2, requires_grad=True)
    z = 4 * x
    y = z.norm()
    y.backward()
    return y.detach(), x.grad
