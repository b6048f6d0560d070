"""`resume=latest` (or `resume=<run folder>`, or `ckpt_path=last`): continue a run in its own folder.

Resolved on the command line, before Hydra starts: the run folder must be known before Hydra would
make a new one, so the resumed run appends to the same TensorBoard curves and checkpoints. The run
keeps the overrides it was started with (new ones on top) and the paths it was started with, so it
reads the same data whatever today's environment and working directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from lightning_lessons.config import compose, override_key
from lightning_lessons.results.checkpoints import read_checkpoint
from lightning_lessons.errors import ResumeError
from lightning_lessons.results.runs import LAST, Run, newest_run, run_folder

KEYS = ("resume", "ckpt_path")  # replaced by the resumed run's own overrides and its last.ckpt
RESUMING = "ckpt_path=last"  # what the resumed run is given: its own folder's last.ckpt (train.py)
PINNED = ("paths.data_dir", "paths.log_dir")  # taken from the run's saved config unless given anew


def resume_target(argv: Sequence[str]) -> str | None:
    """`latest`, a run folder, or None when the command line does not resume."""
    wanted = {override_key(a): a.split("=", 1)[1] for a in argv if override_key(a) in KEYS and "=" in a}
    return wanted.get("resume") or ("latest" if wanted.get("ckpt_path") == "last" else None)


def without_resume(argv: Sequence[str]) -> list[str]:
    return [a for a in argv if override_key(a) not in KEYS]


def find_run(target: str, rest: Sequence[str]) -> Run:
    """The run to continue: the lesson's newest with a last.ckpt, or the folder given."""
    if target == "latest":
        cfg = compose([a for a in rest if not a.startswith("-")])
        run = newest_run(cfg.paths.log_dir, cfg.lesson_name, resumable=True)
        if run is None:
            raise ResumeError(
                f"nothing to resume: no run under {cfg.paths.log_dir.rstrip('/')}/{cfg.lesson_name} has "
                f"checkpoints/{LAST}. Start one with: make train LESSON={cfg.lesson_name}"
            )
        return run
    run = run_folder(target)
    if not run.last.is_file():
        raise ResumeError(f"cannot resume {run.folder}: it has no checkpoints/{LAST}")
    return run


def resume_arguments(argv: Sequence[str]) -> list[str]:
    """The command line with `resume=...`/`ckpt_path=last` replaced by the run's own overrides, new
    ones on top, its folder as Hydra's run dir and `ckpt_path=last` (its own last.ckpt)."""
    args = list(argv)
    target = resume_target(args)
    if target is None:
        return args
    if "-m" in args or "--multirun" in args:
        raise ResumeError("resume continues one run; it does not combine with -m (multirun)")
    rest = without_resume(args)
    run = find_run(target, rest)
    given = {override_key(a) for a in rest}
    kept = [o for o in run.saved_overrides() if override_key(o) not in given | set(KEYS)]
    cfg = compose([a for a in [*kept, *rest] if not a.startswith(("-", "hydra."))])
    refuse_finished(run, cfg.trainer.max_epochs)
    return [*kept, *rest, *pinned_paths(run, cfg), f"hydra.run.dir='{run.folder.resolve()}'", RESUMING]


def pinned_paths(run: Run, cfg: DictConfig) -> list[str]:
    """Overrides that keep the run's data and log folders where they were when it started, for those
    that today's environment or working directory would resolve elsewhere (none, usually)."""
    saved = OmegaConf.load(run.config_path)
    pins = []
    for key in PINNED:
        then = OmegaConf.select(saved, key, throw_on_resolution_failure=False)
        now = OmegaConf.select(cfg, key)
        if then is not None and Path(then).resolve() != Path(now).resolve():
            pins.append(f"{key}='{then}'")
    return pins


def refuse_finished(run: Run, max_epochs: int) -> None:
    """Resuming a finished run with nothing more to do would only overwrite its results: say so."""
    record = run.metrics()
    if record is None or record.get("status") != "completed":
        return  # killed or failed: there is work left, and nothing final to lose
    done = record.get("epochs", 0)
    if max_epochs != -1 and max_epochs <= done:
        raise ResumeError(
            f"{run.folder} is finished: it trained all {done} of its epochs "
            f"(trainer.max_epochs={max_epochs}). To train it further, ask for more: "
            f"resume={run.folder} trainer.max_epochs={2 * done}; to test it again: make eval RUN={run.folder}"
        )


def checkpoint_to_resume(cfg: DictConfig, run: Run) -> str | None:
    """The checkpoint a fit starts from: `last` is this run's own last.ckpt (resume); checked readable
    now, not deep in fit."""
    if not cfg.ckpt_path:
        return None
    path = run.last if cfg.ckpt_path == "last" else Path(cfg.ckpt_path)
    if cfg.ckpt_path == "last" and not path.is_file():
        raise ResumeError(f"cannot resume {run.folder}: it has no {path.relative_to(run.folder)}")
    read_checkpoint(path, training=True)
    return str(path)
