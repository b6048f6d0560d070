"""Train a lesson: `python -m lightning_lessons.train lesson=<name> [key=value ...]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from lightning_lessons.config import CONF_DIR, CONFIG_NAME, check_command_line, register_resolvers


class ConfigError(ValueError):
    """A config that names a key or a type its target class does not accept."""


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Build each entry of a `callbacks`/`logger` group; an entry set to null is switched off."""
    from hydra.utils import instantiate

    return [instantiate(node) for node in (group or {}).values() if node is not None]


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit the lesson the config describes, test its best checkpoint, and record the results."""
    import lightning as L
    import torch
    from hydra.utils import instantiate

    from lightning_lessons.schema import check_config
    from lightning_lessons.summary import finish_run

    problems = check_config(cfg)
    if problems:
        raise ConfigError("\n".join(problems))
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)

    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    loggers = instantiate_all(cfg.logger)
    trainer = instantiate(cfg.trainer, callbacks=instantiate_all(cfg.callbacks), logger=loggers or False)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt_path)

    metrics = {name: float(value) for name, value in sorted(trainer.callback_metrics.items())}
    if cfg.test and datamodule.has_split("test"):
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        for results in trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=False):
            metrics.update({name: float(value) for name, value in sorted(results.items())})
    return finish_run(cfg, trainer, model, datamodule, metrics, output_dir)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=CONFIG_NAME)
def _hydra_main(cfg: DictConfig) -> float | None:
    # The return value is what a Hydra sweeper (e.g. Optuna) optimises: the monitored metric.
    return train(cfg)["metrics"].get(cfg.monitor)


def main() -> None:
    register_resolvers()
    problem = check_command_line(sys.argv[1:])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    _hydra_main()


if __name__ == "__main__":
    main()
