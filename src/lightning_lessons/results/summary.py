"""The end of a run: final metrics to TensorBoard's hparams view, `metrics.json`, and a console summary."""

import json
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from lightning_lessons.nets import scalar_parameters
from lightning_lessons.results.checkpoints import read_checkpoint
from lightning_lessons.results.runs import RESUMING, Run
from lightning_lessons.results.tables import aligned

# Config sections that describe the experiment (the rest is plumbing: paths, callbacks, loggers).
HPARAM_SECTIONS = ("lesson_name", "seed", "tags", "data", "model", "trainer")


def hyperparameters(cfg: DictConfig) -> dict[str, Any]:
    """The experiment's settings as `section/key` for TensorBoard's hparams table, without plumbing
    keys (`_partial_`, copied seeds, folders) so the table stays readable."""
    flat: dict[str, Any] = {}

    def visit(value: Any, prefix: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "_target_":
                    flat[prefix] = str(item)
                elif (
                    not str(key).startswith("_")
                    and not (key == "seed" and prefix)
                    and not str(key).endswith("_dir")  # where files are is not a setting (and is absolute)
                ):
                    visit(item, f"{prefix}/{key}" if prefix else str(key))
        else:
            flat[prefix] = value if isinstance(value, (int, float, str, bool)) else str(value)

    container = OmegaConf.to_container(cfg, resolve=True)
    visit({key: container[key] for key in HPARAM_SECTIONS if key in container}, "")
    return flat


def finish_run(
    cfg: DictConfig,
    trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: L.LightningDataModule,
    metrics: dict[str, float],
    run: Run,
) -> dict[str, Any]:
    """Record the run's results everywhere a user looks for them, and return them. A resume never
    shrinks `metrics.json`: metrics it does not log again keep their earlier values."""
    checkpoint = trainer.checkpoint_callback
    best_score = checkpoint.best_model_score if checkpoint is not None else None
    epochs, steps = trainer.current_epoch, trainer.global_step
    if steps == 0 and run.last.is_file():
        # ddp_fork trained in child processes: this one's Trainer has their weights, not their counts.
        saved = read_checkpoint(run.last, training=True)
        epochs, steps = saved["epoch"] + 1, saved["global_step"]
        state = saved.get("callbacks", {}).get(checkpoint.state_key, {}) if checkpoint is not None else {}
        best_score = state.get("best_model_score", best_score)
    earlier = run.metrics() if cfg.ckpt_path == "last" else None
    if earlier is not None and earlier.get("status") == "completed":
        metrics = {**earlier.get("metrics", {}), **metrics}
    result: dict[str, Any] = {
        "lesson": cfg.lesson_name,
        "status": "completed",
        "seed": cfg.seed,
        "overrides": task_overrides(),
        "epochs": epochs,
        "steps": steps,
        "metrics": metrics,
        "parameters": scalar_parameters(model.net),
        "target_parameters": getattr(datamodule, "target_parameters", None),
        "best": {
            "monitor": cfg.monitor,
            "value": float(best_score) if best_score is not None else None,
            "checkpoint": checkpoint.best_model_path if checkpoint is not None else None,
        },
    }
    settings, final = hyperparameters(cfg), {f"final/{name}": value for name, value in metrics.items()}
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):  # its HParams view pairs the settings with these
            logger.log_hyperparams(settings, final)
        else:
            logger.log_hyperparams(settings)
            logger.log_metrics(final, step=steps)
        logger.finalize("success")
    if trainer.is_global_zero:
        run.metrics_path.write_text(json.dumps(result, indent=2) + "\n")
        print(summary_text(result, run), flush=True)
    return result


def task_overrides() -> list[str]:
    """The overrides as typed, so reports can group runs by what was changed (what a resume adds is
    not a setting)."""
    typed = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return [override for override in typed if override != RESUMING]


def write_status(cfg: DictConfig, run: Run, status: str, **details: Any) -> None:
    """A `metrics.json` for a run that did not complete: what it was, and why it stopped."""
    result = {"lesson": cfg.lesson_name, "status": status, "seed": cfg.seed, "overrides": task_overrides()}
    run.folder.mkdir(parents=True, exist_ok=True)
    run.metrics_path.write_text(json.dumps({**result, **details}, indent=2) + "\n")


def record_failure(cfg: DictConfig, error: BaseException, message: str, run: Run) -> None:
    """Leave a failed job's traceback (`error.txt`) and a `metrics.json` saying why, for the sweep's table."""
    write_status(cfg, run, "failed", error=message)
    run.error_path.write_text("".join(traceback.format_exception(error)))


def job_line(run: Run, monitor: str) -> str:
    """A sweep job on one console line; what it printed is in its folder's `train.log`."""
    result = run.metrics() or {}
    status = result.get("status", "failed")
    value = result.get("metrics", {}).get(monitor)
    if status == "failed":
        status = f"failed: {result.get('error', 'see its train.log')}"
    elif value is not None:
        status = f"{status}  {monitor}={value:.6g}"
    return f"  job {run.folder.name}: {status}"


def record_interruption(cfg: DictConfig, trainer: L.Trainer, run: Run, signum: signal.Signals) -> None:
    """Record an interrupted run as such, and say the one command that continues it."""
    if not trainer.is_global_zero:
        return
    single = trainer.world_size == 1
    epochs, steps = trainer.current_epoch, trainer.global_step
    if not single and run.last.is_file():  # the processes that trained were others: their checkpoint
        saved = read_checkpoint(run.last, training=True)
        epochs, steps = saved["epoch"] + 1, saved["global_step"]
    write_status(cfg, run, "interrupted", signal=signum.name, epochs=epochs, steps=steps)
    kept = "saved where it stopped" if single else "kept from the last epoch's end"
    print(
        f"\n{signum.name}: {cfg.lesson_name} stopped at step {steps}; last.ckpt {kept}.\n"
        f'resume it with: make train ARGS="resume={_shown(run.folder)}"',
        file=sys.stderr,
        flush=True,
    )


def _shown(path: str | Path) -> str:
    """A path relative to the working directory when it lies below it, as the user typed it."""
    path = Path(path).resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def summary_text(result: dict[str, Any], run: Run) -> str:
    output_dir = run.folder
    counts = f"{result['epochs']} epochs, {result['steps']} steps"
    lines = [f"\n{result['lesson']}: {counts}, run folder {_shown(output_dir)}"]
    best = result["best"]
    if best["checkpoint"]:
        score = f" ({best['monitor']} {best['value']:.6g})" if best["value"] is not None else ""
        lines.append(f"  checkpoints  {_shown(best['checkpoint'])}{score}, last.ckpt beside it")
    lines.append(f"  config       {_shown(run.config_path)}")
    lines.append(f"  tensorboard  make tensorboard, or: tensorboard --logdir {_shown(output_dir.parent)}")
    learned, targets = result["parameters"], result["target_parameters"] or {}
    # Two tables, one under the other, with the same columns' widths.
    widths = (max(12, *(len(name) for name in [*learned, *result["metrics"]])), 10, 10)
    if learned:
        rows = [("parameter", "learned", "target")] + [
            (name, f"{value:.4f}", f"{targets[name]:.4f}" if name in targets else "")
            for name, value in learned.items()
        ]
        lines += aligned(rows, right=(1, 2), gap=" ", indent="  ", widths=widths)
    rows = [("metric", "value")] + [(name, f"{value:.6g}") for name, value in result["metrics"].items()]
    lines += aligned(rows, right=(1,), gap=" ", indent="  ", widths=widths)
    return "\n".join(lines)
