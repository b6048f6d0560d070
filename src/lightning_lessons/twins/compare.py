"""`make compare LESSON=<name> [ARGS="key=value ..."]`: the Lightning lesson beside its plain twin.

Same seed and overrides; the lesson runs as a user runs it (TensorBoard, checkpoints and figures on),
so its ms per step is the whole cost of the fit, not just the arithmetic.
"""

import sys
import tempfile
import time

import lightning as L
from omegaconf import DictConfig

from lightning_lessons.cli import check_command_line
from lightning_lessons.config import compose, register_resolvers
from lightning_lessons.errors import fail, run_or_explain
from lightning_lessons.experiment import build, quiet_lightning_lines
from lightning_lessons.results.tables import aligned
from lightning_lessons.twins import TwinRun, run_twin
from lightning_lessons.twins.common import WARMUP

SCALARS = 16  # up to this many numbers in all, every number gets a row


class StepClock(L.Callback):
    """Wall time from the first training batch end at or past `WARMUP` optimizer steps to the last one
    (validation, logging, checkpoints and figures included)."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        mark = (time.perf_counter(), trainer.global_step)
        if self.first is None and trainer.global_step >= WARMUP:
            self.first = mark
        self.last = mark

    def timed(self) -> tuple[int, float]:
        if self.first is None or self.last is None:
            return 0, 0.0
        return self.last[1] - self.first[1], self.last[0] - self.first[0]


def run_lesson(cfg: DictConfig) -> TwinRun:
    """Fit the Lightning lesson (no test phase); its weights, last training loss and step times."""
    experiment = build(cfg)
    clock = StepClock()
    experiment.trainer.callbacks.append(clock)
    experiment.trainer.fit(experiment.model, datamodule=experiment.datamodule)
    model = experiment.model
    parameters = {name: p.detach().clone() for name, p in model.named_parameters()}
    loss = float(experiment.trainer.callback_metrics.get("train/loss", float("nan")))
    return TwinRun(parameters, loss, model.global_step, *clock.timed())


def largest_difference(twin: TwinRun, lesson: TwinRun) -> float:
    return max(
        float((twin.parameters[name].float() - lesson.parameters[name].float()).abs().max())
        for name in twin.parameters
    )


def table(twin: TwinRun, lesson: TwinRun) -> str:
    """Weights side by side, the largest difference, and time per step with the ratio."""
    rows: list[tuple[str, str, str, str]] = []
    numbers = sum(p.numel() for p in twin.parameters.values())
    for name, value in twin.parameters.items():
        other = lesson.parameters[name]
        if numbers <= SCALARS:
            pairs = zip(value.flatten().tolist(), other.flatten().tolist(), strict=True)
            for index, (a, b) in enumerate(pairs):
                label = name if value.numel() == 1 else f"{name}[{index}]"
                rows.append((label, f"{a:.7g}", f"{b:.7g}", f"{abs(a - b):.3g}"))
        else:
            label = f"{name} ({'x'.join(map(str, value.shape))})"
            diff = float((value.float() - other.float()).abs().max())
            rows.append((label, f"|w|max {value.abs().max():.4g}", f"{other.abs().max():.4g}", f"{diff:.3g}"))
    loss_diff = abs(twin.loss - lesson.loss)
    rows.append(("train loss (last step)", f"{twin.loss:.7g}", f"{lesson.loss:.7g}", f"{loss_diff:.3g}"))
    rows.append(("steps", str(twin.steps), str(lesson.steps), ""))
    ratio = lesson.ms_per_step / twin.ms_per_step if twin.timed_steps and lesson.timed_steps else float("nan")
    rows.append(("ms per step", f"{twin.ms_per_step:.3f}", f"{lesson.ms_per_step:.3f}", f"{ratio:.2f}x"))
    header = ("", "plain twin", "Lightning lesson", "difference")
    lines = aligned([header, *rows], right=(1, 2, 3))
    lines.insert(1, "-" * len(lines[0]))
    lines.append(
        f"largest weight difference: {largest_difference(twin, lesson):.3g}  (ratio = lesson / twin per step)"
    )
    return "\n".join(lines)


def compare(overrides: list[str]) -> tuple[TwinRun, TwinRun]:
    """Run the lesson and its twin with these overrides; returns (twin, lesson)."""
    with tempfile.TemporaryDirectory() as folder:
        has_output = any(o.startswith("paths.output_dir=") for o in overrides)
        cfg = compose([*overrides] if has_output else [*overrides, f"paths.output_dir={folder}"])
        lesson = run_lesson(cfg)
        twin = run_twin(cfg)
    return twin, lesson


def main(argv: list[str] | None = None) -> None:
    """Check the overrides as `train` does, then run both and print the table."""
    register_resolvers()
    quiet_lightning_lines()
    overrides = ["print_config=false", *(sys.argv[1:] if argv is None else argv)]
    problem = check_command_line(overrides)
    if problem:
        fail(problem)
    twin, lesson = run_or_explain(lambda: compare(overrides))
    print(table(twin, lesson))


if __name__ == "__main__":
    main()
