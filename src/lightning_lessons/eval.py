"""Test a finished run again: `python -m lightning_lessons.eval run=<run folder> [key=value ...]`.

Rebuilt from the run's own saved config, so it reproduces what the run logged whatever today's
defaults; `key=value` pairs override that config, checked as `train` checks them."""

import sys
import warnings
from pathlib import Path

from lightning_lessons.cli import apply_overrides, parse_key_values
from lightning_lessons.errors import CheckpointError, ConfigError, RunFolderError, run_or_explain
from lightning_lessons.experiment import build
from lightning_lessons.results.checkpoints import load_weights, read_checkpoint
from lightning_lessons.results.runs import Run, run_folder, run_of_checkpoint
from lightning_lessons.results.tables import aligned
from lightning_lessons.schema import check_config

USAGE = "say which run: make eval RUN=logs/<lesson>/<run> (or run=<run folder>, or ckpt_path=<checkpoint>)"


def chosen(run: str | None, ckpt_path: str | None) -> tuple[Run, Path]:
    """The run and the checkpoint to test: the run's best (else last), or the one given."""
    if run and ckpt_path:  # a checkpoint names its own run: two answers to one question
        raise ConfigError("give run=<run folder> or ckpt_path=<checkpoint>, not both")
    if ckpt_path:
        if not Path(ckpt_path).is_file():
            raise CheckpointError(f"checkpoint not found: {ckpt_path}")
        return run_of_checkpoint(ckpt_path), Path(ckpt_path)
    if not run:
        raise ConfigError(USAGE)
    found = run_folder(run)
    checkpoint = found.checkpoint()
    if checkpoint is None:
        raise RunFolderError(f"no checkpoint in {found.checkpoints}: expected best.ckpt or last.ckpt")
    return found, checkpoint


def evaluate(
    run: str | None = None, ckpt_path: str | None = None, overrides: list[str] = ()
) -> dict[str, float]:
    """Test metrics of a run's checkpoint (its best one by default), recomputed from scratch."""
    return tested_metrics(*chosen(run, ckpt_path), overrides)


def tested_metrics(found: Run, checkpoint: Path, overrides: list[str] = ()) -> dict[str, float]:
    """Rebuild the run from its saved config (with `overrides`) and test `checkpoint` on its test split."""
    weights = read_checkpoint(checkpoint)["state_dict"]  # as data, before anything (Lightning) reads it
    cfg = apply_overrides(found.config(), overrides)
    problems = check_config(cfg)
    if problems:
        raise ConfigError("\n".join(problems))
    cfg.logger, cfg.callbacks = None, None
    experiment = build(cfg)
    warnings.filterwarnings("ignore", message=r".*callbacks used to create the checkpoint.*")  # none needed
    if not experiment.datamodule.has_split("test"):
        raise ConfigError(f"lesson {cfg.lesson_name} has no test split to evaluate on")
    model, datamodule = experiment.model, experiment.datamodule
    load_weights(model, weights, checkpoint)  # a misfit named; Lightning loads them again (its hooks)
    # ckpt_path is read as data by AtomicCheckpointIO (Lightning 2.5's test() takes no weights_only).
    results = experiment.trainer.test(model, datamodule=datamodule, ckpt_path=str(checkpoint), verbose=False)
    return {name: float(value) for result in results for name, value in sorted(result.items())}


def main() -> None:
    settings, overrides = parse_key_values(sys.argv[1:], known=("run", "ckpt_path"))

    run, checkpoint = run_or_explain(lambda: chosen(settings.get("run"), settings.get("ckpt_path")))
    metrics = run_or_explain(lambda: tested_metrics(run, checkpoint, overrides))
    logged = (run.metrics() or {}).get("metrics", {})
    rows = [("metric", "now", "logged by train")] + [
        (name, f"{value:.6g}", f"{logged[name]:.6g}" if name in logged else "-")
        for name, value in metrics.items()
    ]
    print("\n".join(aligned(rows, right=(1, 2), gap=" ", widths=(12, 12, 16))))


if __name__ == "__main__":
    main()
