"""T1 in plain PyTorch: V1's trained features start one network, an identical copy starts from scratch,
both train on the same batches; their two losses are summed into one step of one optimizer, which for
disjoint weights and Adam is two separate trainings."""

import copy

from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor, nn

from lightning_lessons.twins.common import TwinRun, images, loss_function, network, prepare, train


def run(cfg: DictConfig) -> TwinRun:
    datamodule = prepare(cfg)
    net = network(cfg)
    scratch = copy.deepcopy(net)  # the same random start: the transferred weights are the only difference
    _, weights = instantiate(cfg.model.pretrained).state_dict()
    net.get_submodule(cfg.model.into).load_state_dict(weights)
    if cfg.model.freeze:
        net.get_submodule(cfg.model.into).requires_grad_(False)
    both = nn.ModuleList([net, scratch]).train()
    loss_fn = loss_function(cfg)
    optimizer = instantiate(cfg.model.optimizer)(both.parameters())

    def step(batch: tuple[Tensor, ...]) -> Tensor:
        x, y = batch
        optimizer.zero_grad()
        x = images(x, cfg)
        loss = loss_fn(net(x), y) + loss_fn(scratch(x), y)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return train(cfg, datamodule, step, net=net, scratch=scratch)
