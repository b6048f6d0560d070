"""The notes' two-layer network with raw weight matrices and a backward pass written by hand."""

import torch
from torch import Tensor, nn


class TwoLayerNet(nn.Module):
    """`relu(x @ w1) @ w2`, weights drawn with `torch.randn` as in R5's first two variants.

    `manual_gradients` is the chain rule written out for the loss `((y_pred - y) ** 2).sum()`, so
    the lesson can train with no autograd at all; a test proves it equals what autograd computes.
    """

    def __init__(self, in_features: int = 1000, hidden: int = 100, out_features: int = 10) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(in_features, hidden))
        self.w2 = nn.Parameter(torch.randn(hidden, out_features))

    def forward(self, x: Tensor) -> Tensor:
        return x.mm(self.w1).clamp(min=0).mm(self.w2)

    @torch.no_grad()
    def manual_gradients(self, x: Tensor, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Loss `((y_pred - y) ** 2).sum()` and its gradient for every parameter, by hand."""
        h = x.mm(self.w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(self.w2)
        loss = (y_pred - y).pow(2).sum()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h = grad_y_pred.mm(self.w2.t())
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)
        return loss, {"w1": grad_w1, "w2": grad_w2}
