"""`resume=latest` (or `resume=<run folder>`, or `ckpt_path=last`): continue a run in its own folder.

Resolved on the command line, before Hydra starts: the run folder must be known before Hydra would
make a new one, so the resumed run appends to the same TensorBoard curves and checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

from lightning_lessons.config import compose, override_key

LAST = Path("checkpoints") / "last.ckpt"
KEYS = ("resume", "ckpt_path")  # replaced by the resumed run's own overrides and its last.ckpt


class ResumeError(ValueError):
    """Nothing to resume, or a folder that is not a run."""


def latest_run(lesson_dir: Path) -> Path | None:
    """The lesson's run whose last checkpoint was written most recently (sweep jobs included)."""
    candidates = [*lesson_dir.glob(f"*/{LAST}"), *lesson_dir.glob(f"multiruns/*/*/{LAST}")]
    if not candidates:
        return None
    return max(candidates, key=lambda path: path.stat().st_mtime).parents[1]


def resume_arguments(argv: Sequence[str]) -> list[str]:
    """The command line with `resume=...`/`ckpt_path=last` replaced by the run's own overrides, new
    ones on top, its folder as Hydra's run dir and its `last.ckpt` as the checkpoint to resume from."""
    args = list(argv)
    wanted = {override_key(a): a.split("=", 1)[1] for a in args if override_key(a) in KEYS and "=" in a}
    target = wanted.get("resume") or ("latest" if wanted.get("ckpt_path") == "last" else None)
    if target is None:
        return args
    if "-m" in args or "--multirun" in args:
        raise ResumeError("resume continues one run; it does not combine with -m (multirun)")
    rest = [a for a in args if override_key(a) not in KEYS]
    if target == "latest":
        cfg = compose([a for a in rest if not a.startswith("-")])
        lesson_dir = Path(cfg.paths.log_dir) / cfg.lesson_name
        run_dir = latest_run(lesson_dir)
        if run_dir is None:
            raise ResumeError(
                f"nothing to resume: no run under {lesson_dir} has {LAST}. "
                f"Start one with: make train LESSON={cfg.lesson_name}"
            )
    else:
        run_dir = Path(target)
        if not (run_dir / LAST).is_file():
            raise ResumeError(f"cannot resume {run_dir}: it has no {LAST} (is it a run folder?)")
    saved = run_dir / ".hydra" / "overrides.yaml"
    previous = [str(o) for o in OmegaConf.load(saved)] if saved.is_file() else []
    given = {override_key(a) for a in rest}
    kept = [o for o in previous if override_key(o) not in given and override_key(o) not in KEYS]
    return [*kept, *rest, f"hydra.run.dir='{run_dir}'", f"ckpt_path='{run_dir / LAST}'"]
