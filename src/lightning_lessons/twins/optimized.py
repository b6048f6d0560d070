"""R2, R4, R5.3, R5.4, C1, C2, V1, D1, D2: the notes' `zero_grad`, forward, loss, `backward`, `step`.

Classification follows the lessons' fix of the notes: the logits go to `CrossEntropyLoss` (no sigmoid
in C1, no softmax in C2); V1's images are normalised with one channel's statistics (the data module's).
"""

from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import Tensor

from lightning_lessons.twins.common import TwinRun, images, loss_function, network, prepare, train


def run(cfg: DictConfig) -> TwinRun:
    datamodule = prepare(cfg)
    net = network(cfg)
    loss_fn = loss_function(cfg)
    optimizer = instantiate(cfg.model.optimizer)(net.parameters())
    net.train()

    def step(batch: tuple[Tensor, ...]) -> Tensor:
        x, y = batch
        optimizer.zero_grad()
        loss = loss_fn(net(images(x, cfg)), y)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return train(cfg, datamodule, step, net=net)
