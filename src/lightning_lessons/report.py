"""`make report`: how stable is a lesson? Every run's final metrics (its `metrics.json`), grouped by
lesson and by the overrides it was started with, seed aside: mean ± std and the number of runs.
Failed runs are counted, not averaged."""

import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning_lessons.errors import fail
from lightning_lessons.results.runs import Run, all_runs, log_dir
from lightning_lessons.results.tables import aligned

# Overrides that pick the seed, where outputs go or what the console shows, not what was tried: runs
# differing only in these are repeats of one experiment. The lesson is the table's own heading.
# (data.steps_per_epoch is how a resumed full-batch run keeps its epochs' size.)
_NOT_SETTINGS = ("seed=", "lesson=", "paths.", "tags=", "print_config=", "min_free_mb=", "callbacks.progress")
_NOT_SETTINGS += ("data.steps_per_epoch=",)


@dataclass
class Result:
    """One run's `metrics.json`."""

    folder: Path
    lesson: str
    status: str
    settings: tuple[str, ...]
    metrics: dict[str, float]


def read_runs(root: Path) -> list[Result]:
    """Every run below `root`, from the `metrics.json` it left."""
    results = []
    for run in all_runs(root):
        record = readable_record(run)
        if record is None:
            continue
        settings = tuple(sorted(o for o in record.get("overrides", []) if not o.startswith(_NOT_SETTINGS)))
        # Runs from before `status` existed only wrote metrics.json when they finished.
        status = record.get("status", "completed")
        metrics = record.get("metrics") if isinstance(record.get("metrics"), dict) else {}
        # A value that is not a number (an edited or foreign record) cannot be averaged: left out.
        numbers = {k: v for k, v in metrics.items() if type(v) in (int, float)}
        results.append(Result(run.folder, record["lesson"], status, settings, numbers))
    return results


def readable_record(run: Run) -> dict[str, Any] | None:
    """The run's record, or None with a warning line naming it: one truncated or foreign metrics.json
    (a run killed while writing it, a file copied in) must not hide every other run's results."""
    try:
        record = run.metrics()
    except (OSError, ValueError) as error:  # ValueError: JSON and UTF-8 decoding
        problem = f"cannot be read ({error})"
    else:
        if isinstance(record, dict) and isinstance(record.get("lesson"), str):
            return record
        problem = "is not a run's record (a JSON object naming its lesson)"
    print(f"warning: {run.metrics_path} {problem}; left out", file=sys.stderr)
    return None


def summarise(values: list[float]) -> tuple[float, float | None]:
    """Mean and sample standard deviation (None for a single run: one seed says nothing about spread)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def report_text(runs: list[Result]) -> str:
    """One table per lesson: a row per group of runs and final metric."""
    lessons: dict[str, dict[tuple[str, ...], list[Result]]] = defaultdict(lambda: defaultdict(list))
    failed: dict[str, int] = defaultdict(int)
    for run in runs:
        if run.status == "completed":
            lessons[run.lesson][run.settings].append(run)
        else:
            failed[run.lesson] += 1
    blocks = []
    for lesson in sorted(lessons.keys() | failed.keys()):
        groups = lessons[lesson]
        finished = sum(len(group) for group in groups.values())
        heading = f"{lesson}: {finished} finished runs" + (
            f", {failed[lesson]} failed (left out)" if failed[lesson] else ""
        )
        rows = [("overrides", "metric", "mean", "std", "n")]
        for settings, group in sorted(groups.items()):
            label = " ".join(settings) or "(defaults)"
            for name in sorted({name for run in group for name in run.metrics}):
                values = [run.metrics[name] for run in group if name in run.metrics]
                finite = [value for value in values if math.isfinite(value)]
                mean, std = summarise(finite) if finite else (math.nan, None)
                shown_std = f"{std:.3g}" if std is not None else "-"
                n = f"{len(finite)}" + (
                    f" (+{len(values) - len(finite)} nan)" if len(finite) < len(values) else ""
                )
                rows.append((label, name, f"{mean:.6g}", shown_std, n))
                label = ""
        blocks.append("\n".join([heading, *aligned(rows, indent="  ")]))
    return "\n\n".join(blocks)


def main(argv: Sequence[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0] if args else log_dir())
    runs = read_runs(root) if root.is_dir() else []
    if not runs:
        fail(f"no runs under {root}/ (each run writes a metrics.json; make train or make sweep)")
    print(report_text(runs))
    print("\nmean and sample standard deviation over each group's n runs: same overrides, any seed")


if __name__ == "__main__":
    main()
