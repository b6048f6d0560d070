"""R1, R3, R5.1, R5.2 as the notes write them: `w -= lr * w.grad` under `no_grad`, then zero the grad."""

import torch
from omegaconf import DictConfig
from torch import Tensor

from lightning_lessons.twins.common import TwinRun, loss_function, network, prepare, train


def run(cfg: DictConfig) -> TwinRun:
    datamodule = prepare(cfg)
    net = network(cfg)
    loss_fn, lr, by_hand = loss_function(cfg), cfg.model.optimizer.lr, cfg.model.gradients == "manual"

    def step(batch: tuple[Tensor, ...]) -> Tensor:
        x, y = batch
        if by_hand:  # R5.1: the chain rule written out, no autograd graph
            loss, grads = net.manual_gradients(x, y)
        else:
            loss = loss_fn(net(x), y)
            loss.backward()
            grads = {name: p.grad for name, p in net.named_parameters()}
        with torch.no_grad():
            for name, p in net.named_parameters():
                p -= lr * grads[name]
                if p.grad is not None:
                    p.grad.zero_()
        return loss.detach()

    return train(cfg, datamodule, step, net=net)
