"""The notes' own training loops in plain PyTorch, beside every lesson: same config, same networks and
data modules, no Lightning. `run_twin(cfg)` trains the lesson's twin; tests and `make compare` check
that the Lightning lesson reaches the same weights, and `make bench` times the two against each other."""

from lightning_lessons.twins.common import TwinRun, run_twin

__all__ = ["TwinRun", "run_twin"]
