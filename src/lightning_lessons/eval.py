"""Test a finished run again: `python -m lightning_lessons.eval run=<run folder> [key=value ...]`.

Data and model are rebuilt from the run's own saved config, so the figures reproduce what the run
logged when it finished, whatever today's defaults are. Extra `key=value` pairs override that config
(for example `trainer.accelerator=cpu` for a run trained on a GPU).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

from omegaconf import OmegaConf

from lightning_lessons.cli import parse_key_values, run_or_explain


def checkpoint_for(run_dir: Path) -> Path:
    for name in ("best.ckpt", "last.ckpt"):
        if (run_dir / "checkpoints" / name).is_file():
            return run_dir / "checkpoints" / name
    raise FileNotFoundError(f"no checkpoint in {run_dir / 'checkpoints'}: expected best.ckpt or last.ckpt")


def evaluate(
    run: str | None = None, ckpt_path: str | None = None, overrides: list[str] = ()
) -> dict[str, float]:
    """Test metrics of a run's checkpoint (its best one by default), recomputed from scratch."""
    from lightning_lessons.checkpoints import read_checkpoint
    from lightning_lessons.train import build, load_run_config

    if run is None and ckpt_path is None:
        raise ValueError("say which run: run=<run folder> or ckpt_path=<checkpoint>")
    checkpoint = Path(ckpt_path) if ckpt_path else None
    if checkpoint is not None and not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    run_dir = Path(run) if run else checkpoint.resolve().parent.parent
    cfg = load_run_config(run_dir)
    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(overrides)))
    cfg.logger, cfg.callbacks = None, None
    checkpoint = checkpoint or checkpoint_for(run_dir)
    read_checkpoint(checkpoint)  # a damaged file is named, not a traceback from deep in Lightning
    experiment = build(cfg)
    warnings.filterwarnings("ignore", message=r".*callbacks used to create the checkpoint.*")  # none needed
    if not experiment.datamodule.has_split("test"):
        raise ValueError(f"lesson {cfg.lesson_name} has no test split to evaluate on")
    results = experiment.trainer.test(
        experiment.model,
        datamodule=experiment.datamodule,
        ckpt_path=str(checkpoint),
        verbose=False,
        weights_only=False,
    )
    return {name: float(value) for result in results for name, value in sorted(result.items())}


def main() -> None:
    settings, overrides = parse_key_values(sys.argv[1:], known=("run", "ckpt_path"))
    metrics = run_or_explain(lambda: evaluate(settings.get("run"), settings.get("ckpt_path"), overrides))
    run_dir = (
        Path(settings["run"]) if "run" in settings else Path(settings["ckpt_path"]).resolve().parent.parent
    )
    logged_path = run_dir / "metrics.json"
    logged = json.loads(logged_path.read_text())["metrics"] if logged_path.is_file() else {}
    print(f"{'metric':<12} {'now':>12} {'logged by train':>16}")
    for name, value in metrics.items():
        before = f"{logged[name]:>16.6g}" if name in logged else f"{'-':>16}"
        print(f"{name:<12} {value:>12.6g} {before}")


if __name__ == "__main__":
    main()
