"""Find a learning rate: `python -m lightning_lessons.lr_find lesson=<name> [num_training=100] [key=value]`.

Lightning's own `Tuner.lr_find` trains the lesson, built exactly as `train` builds it, for `num_training`
steps while the learning rate grows from `min_lr` to `max_lr`, then suggests the rate where the loss
fell fastest. The curve is written as a PNG and into TensorBoard; the command that trains with the
suggestion is printed. Nothing of the lesson's runs changes: the model is restored after the search.
"""

import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning.pytorch.tuner import Tuner
from torch.utils.tensorboard import SummaryWriter

from lightning_lessons.callbacks.plots import figure_axes
from lightning_lessons.cli import check_command_line, composed, override_key, parse_key_values
from lightning_lessons.config import compose, stamp
from lightning_lessons.errors import ConfigError, run_or_explain
from lightning_lessons.experiment import build, quiet_lightning_lines
from lightning_lessons.lessons import lesson_names

LR = "model.optimizer.lr"  # where every lesson's learning rate lives
SPAN = 10  # the default sweep: from a tenth of the lesson's own rate to ten times it
MODES = ("linear", "exponential")
SKIPPED = 11  # points Lightning's suggestion leaves out (10 at the start, 1 at the end)


def search_range(settings: dict[str, str], lr: float) -> dict[str, Any]:
    """`Tuner.lr_find`'s arguments: the user's, else a linear sweep around the lesson's rate `lr`.

    Linear, because Lightning suggests the steepest fall of the loss per unit of learning rate: on an
    exponential sweep that favours its smallest rates (Lightning issue #21141), wherever the fall is."""
    try:
        num_training = int(settings.get("num_training", 100))
        min_lr = float(settings.get("min_lr", lr / SPAN))
        max_lr = float(settings.get("max_lr", lr * SPAN))
    except ValueError as error:
        raise ConfigError(f"num_training takes a whole number, min_lr and max_lr numbers: {error}") from None
    mode = settings.get("mode", MODES[0])
    if mode not in MODES:
        raise ConfigError(f"mode={mode}: choose {' or '.join(MODES)}")
    if num_training < SKIPPED + 9:
        raise ConfigError(f"num_training={num_training}: give at least 20 steps to suggest from")
    if not 0 < min_lr < max_lr:
        raise ConfigError(f"min_lr={min_lr:g}, max_lr={max_lr:g}: need 0 < min_lr < max_lr")
    return {"num_training": num_training, "min_lr": min_lr, "max_lr": max_lr, "mode": mode}


@dataclass(frozen=True)
class Found:
    lr: float  # the suggestion, rounded to the 3 digits the printed command carries
    folder: Path  # lr_find.png and the TensorBoard events
    command: str  # `make train ...` with the suggested rate


def automatic_lessons(manual_target: str) -> list[str]:
    """The lessons Lightning's optimizer steps: every one not trained by `manual_target`."""
    return [name for name in lesson_names() if compose([f"lesson={name}"]).model._target_ != manual_target]


def find_lr(overrides: list[str], settings: dict[str, str] | None = None) -> Found:
    """Run Lightning's learning-rate finder on the lesson the overrides describe, and record its curve."""
    problem = check_command_line(overrides)  # what `make train` would refuse, refused as it says it
    if problem:
        raise ConfigError(problem)
    cfg = composed(overrides)
    search = search_range(settings or {}, cfg.model.optimizer.lr)
    cfg.logger, cfg.callbacks = None, None  # the finder keeps its own; the figures are the curve's
    with tempfile.TemporaryDirectory() as scratch:  # the finder's copy of the starting weights
        cfg.paths.output_dir = scratch
        experiment = build(cfg)
        if not experiment.model.automatic_optimization:
            raise ConfigError(
                f"lesson {cfg.lesson_name} ({cfg.code}) updates its weights by hand (manual optimization), "
                "and Lightning's learning-rate finder steps the optimizer itself. It finds rates for: "
                + ", ".join(automatic_lessons(cfg.model._target_))
            )
        finder = Tuner(experiment.trainer).lr_find(
            experiment.model,
            datamodule=experiment.datamodule,
            **search,
            update_attr=False,  # the rate goes into the printed command, not into this model
        )
    suggestion = finder.suggestion()
    if suggestion is None:
        raise ConfigError(
            f"the loss left the finite numbers within {len(finder.results['lr'])} steps, too few to "
            f"suggest a rate: lower max_lr (now {search['max_lr']:g})"
        )
    lr = float(f"{suggestion:.3g}")
    kept = [o for o in overrides if override_key(o) not in ("lesson", LR)]
    command = f'make train LESSON={cfg.lesson_name} ARGS="{" ".join([*kept, f"{LR}={lr:g}"])}"'
    folder = Path(cfg.paths.log_dir) / cfg.lesson_name / f"lr_find_{stamp()}"
    write_curve(finder, folder, f"{cfg.code} {cfg.lesson_name}: suggested lr {lr:g}", command)
    return Found(lr, folder, command)


def write_curve(finder: object, folder: Path, title: str, command: str) -> None:
    """The loss against the learning rate as `lr_find.png`, and in TensorBoard: the same figure, the two
    series by step (`lr_find/loss`, `lr_find/lr`) and the command to train with the suggestion."""
    folder.mkdir(parents=True, exist_ok=True)
    figure, axes = figure_axes((6.0, 4.0), {"left": 0.12, "right": 0.97, "bottom": 0.12, "top": 0.92})
    finder.plot(suggest=True, ax=axes)  # Lightning's own plot, the suggestion marked in red
    axes.set_title(title, fontsize="small")
    figure.savefig(folder / "lr_find.png")
    with SummaryWriter(str(folder)) as writer:
        for step, (lr, loss) in enumerate(zip(finder.results["lr"], finder.results["loss"], strict=True)):
            writer.add_scalar("lr_find/loss", loss, step)
            writer.add_scalar("lr_find/lr", lr, step)
        writer.add_figure("lr_find", figure)
        writer.add_text("lr_find/command", f"`{command}`")


def main() -> None:
    settings, overrides = parse_key_values(sys.argv[1:], known=("num_training", "min_lr", "max_lr", "mode"))
    quiet_lightning_lines()
    # Lightning's lr_find restores the temporary checkpoint it wrote itself, without weights_only.
    warnings.filterwarnings("ignore", message=r".*`weights_only` was not set.*")
    found = run_or_explain(lambda: find_lr(overrides, settings))
    print(f"suggested learning rate: {found.lr:g}")
    print(f"curve: {found.folder / 'lr_find.png'} (and TensorBoard: make tensorboard)")
    print(f"train with it: {found.command}")


if __name__ == "__main__":
    main()
