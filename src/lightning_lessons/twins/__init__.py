"""The notes' own training loops in plain PyTorch, beside every lesson: same config, same networks and
data modules, no Lightning. `run_twin(cfg)` trains the lesson's twin; tests and `make compare` check
that the Lightning lesson reaches the same weights, and `make bench` times the two against each other."""

from omegaconf import DictConfig

from lightning_lessons.twins import manual, optimized, transfer
from lightning_lessons.twins.common import TwinRun

# The plain loop of each family of lessons, by the LightningModule that trains it.
LOOPS = {
    "ManualRegressionModule": manual.run,
    "RegressionModule": optimized.run,
    "ClassificationModule": optimized.run,
    "DenoisingModule": optimized.run,
    "TransferModule": transfer.run,
}


def run_twin(cfg: DictConfig) -> TwinRun:
    """Train the twin of the lesson `cfg` describes (its model `_target_` says which loop)."""
    kind = cfg.model._target_.rsplit(".", 1)[-1]
    if kind not in LOOPS:
        raise ValueError(f"no plain twin for {cfg.model._target_}")
    return LOOPS[kind](cfg)


__all__ = ["TwinRun", "run_twin"]
