"""Test a finished run again: `python -m lightning_lessons.eval run=<run folder> [key=value ...]`.

Rebuilt from the run's own saved config, so it reproduces what the run logged whatever today's
defaults; `key=value` pairs override that config, checked as `train` checks them."""

import sys
import warnings
from pathlib import Path

from lightning_lessons.cli import apply_overrides, parse_key_values
from lightning_lessons.errors import ConfigError, run_or_explain
from lightning_lessons.experiment import Experiment, build, quiet_lightning_lines
from lightning_lessons.results.checkpoints import load_weights, read_checkpoint
from lightning_lessons.results.runs import Run, chosen
from lightning_lessons.results.tables import aligned
from lightning_lessons.schema import check_config

USAGE = "say which run: make eval RUN=logs/<lesson>/<run> (or run=<run folder>, or ckpt_path=<checkpoint>)"


def evaluate(
    run: str | None = None, ckpt_path: str | None = None, overrides: list[str] = ()
) -> dict[str, float]:
    """Test metrics of a run's checkpoint (its best one by default), recomputed from scratch."""
    return tested_metrics(*chosen(run, ckpt_path, USAGE), overrides)


def restored(found: Run, checkpoint: Path, overrides: list[str] = ()) -> Experiment:
    """The run rebuilt from its saved config (with `overrides`), its model holding `checkpoint`'s weights;
    without loggers or callbacks, so nothing is written into the run."""
    weights = read_checkpoint(checkpoint)["state_dict"]  # as data, before anything (Lightning) reads it
    cfg = apply_overrides(found.config(), overrides)
    problems = check_config(cfg)
    if problems:
        raise ConfigError("\n".join(problems))
    cfg.logger, cfg.callbacks = None, None
    experiment = build(cfg)
    load_weights(experiment.model, weights, checkpoint)  # a misfit named, not load_state_dict's traceback
    return experiment


def tested_metrics(found: Run, checkpoint: Path, overrides: list[str] = ()) -> dict[str, float]:
    """Rebuild the run from its saved config (with `overrides`) and test `checkpoint` on its test split."""
    experiment = restored(found, checkpoint, overrides)
    warnings.filterwarnings("ignore", message=r".*callbacks used to create the checkpoint.*")  # none needed
    if not experiment.datamodule.has_split("test"):
        raise ConfigError(f"lesson {found.lesson()} has no test split to evaluate on")
    model, datamodule = experiment.model, experiment.datamodule
    # Lightning loads the weights again (its hooks): ckpt_path is read as data by AtomicCheckpointIO
    # (Lightning 2.5's test() takes no weights_only).
    results = experiment.trainer.test(model, datamodule=datamodule, ckpt_path=str(checkpoint), verbose=False)
    return {name: float(value) for result in results for name, value in sorted(result.items())}


def main() -> None:
    settings, overrides = parse_key_values(sys.argv[1:], known=("run", "ckpt_path"))
    quiet_lightning_lines()
    run, checkpoint = run_or_explain(lambda: chosen(settings.get("run"), settings.get("ckpt_path"), USAGE))
    metrics = run_or_explain(lambda: tested_metrics(run, checkpoint, overrides))
    logged = (run.metrics() or {}).get("metrics", {})
    rows = [("metric", "now", "logged by train")] + [
        (name, f"{value:.6g}", f"{logged[name]:.6g}" if name in logged else "-")
        for name, value in metrics.items()
    ]
    print("\n".join(aligned(rows, right=(1, 2), gap=" ", widths=(12, 12, 16))))


if __name__ == "__main__":
    main()
