"""The one owner of a run folder's layout: what lives where, and how runs are found again.

    <log_dir>/<lesson>/<date>_<time>_<pid>/          one run (under srun: <lesson>/slurm-<job>.<step>/,
                                                     under torchrun: <lesson>/torchrun-<job id>/;
                                                     a sweep's jobs: <lesson>/multiruns/<sweep>/<n>/)
        .hydra/config.yaml  .hydra/overrides.yaml   the config it ran with, what was typed
        checkpoints/best.ckpt  checkpoints/last.ckpt
        metrics.json  run_info.yaml  error.txt  train.log (the console)  events.out.tfevents.*

`eval`, `predict`, `resume`, T1's source lookup, sweeps and `make report` all ask this module.
"""

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock, Timeout
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lightning_lessons.config import CONF_DIR, CONFIG_NAME, register_resolvers
from lightning_lessons.errors import CheckpointError, ConfigError, RunFolderError
from lightning_lessons.results.targets import config_targets, override_targets, refuse_untrusted
from lightning_lessons.schema import RunSettings

CHECKPOINTS = "checkpoints"
BEST = "best.ckpt"
LAST = "last.ckpt"
MULTIRUNS = "multiruns"
# Classes that runs saved before the stock core (or a move) named, and what builds the same thing today:
# the only targets beyond conf/'s that a saved config may name.
RENAMED = {
    "lightning_lessons.engine.trainer.LessonTrainer": "lightning.Trainer",
    "lightning_lessons.engine.checkpoints.AtomicCheckpointIO": (
        "lightning_lessons.results.checkpoints.AtomicCheckpointIO"
    ),
    "lightning_lessons.callbacks.LessonCheckpoint": "lightning.pytorch.callbacks.ModelCheckpoint",
    "lightning_lessons.callbacks.tensorboard.LessonTensorBoardLogger": (
        "lightning.pytorch.loggers.TensorBoardLogger"
    ),
    "lightning_lessons.callbacks.interrupt.InterruptCheckpoint": (
        "lightning_lessons.callbacks.InterruptCheckpoint"
    ),
}
LOCK = ".lock"
RESUMING = "ckpt_path=last"  # what a resumed run is given (cli.resume_arguments): its own last.ckpt


@dataclass(frozen=True)
class Run:
    """One run folder."""

    folder: Path

    @property
    def config_path(self) -> Path:
        return self.folder / ".hydra" / "config.yaml"

    @property
    def overrides_path(self) -> Path:
        return self.folder / ".hydra" / "overrides.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.folder / CHECKPOINTS

    @property
    def best(self) -> Path:
        return self.checkpoints / BEST

    @property
    def last(self) -> Path:
        return self.checkpoints / LAST

    @property
    def metrics_path(self) -> Path:
        return self.folder / "metrics.json"

    @property
    def run_info_path(self) -> Path:
        return self.folder / "run_info.yaml"

    @property
    def error_path(self) -> Path:
        return self.folder / "error.txt"

    @property
    def log_path(self) -> Path:
        return self.folder / "train.log"  # Hydra's job log, `<job name>.log`, for `python -m ...train`

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Held by a run's main process while it runs. An flock: the operating system drops it when the
        process dies, so a killed run leaves no stale lock (a requeue or restart takes it again)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.folder / LOCK, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RunFolderError(f"{self.folder} is in use: another run is writing into it now") from None
        try:
            yield
        finally:
            lock.release()

    def busy(self) -> bool:
        """Whether a live process holds the run's lock (without a lock file: no, and none is made)."""
        if not (self.folder / LOCK).is_file():
            return False
        try:
            with self.lock():
                return False
        except RunFolderError:
            return True

    def files(self) -> dict[str, bytes]:
        """Every file of the run but its checkpoints, by relative path: what `restore` puts back."""
        paths = [
            p
            for p in self.folder.rglob("*")
            if p.is_file() and p.relative_to(self.folder).parts[0] != CHECKPOINTS
        ]
        return {str(path.relative_to(self.folder)): path.read_bytes() for path in paths}

    def restore(self, files: dict[str, bytes]) -> None:
        """Put the run's files back as `files` held them, removing those added since."""
        for name in self.files().keys() - files.keys():
            (self.folder / name).unlink()
        for name, content in files.items():
            # Always a new file under the old name: what is still open on the old one (the log
            # handlers, the console's copy in train.log) writes there, not into the restored run.
            path = self.folder / name
            partial = path.with_name(f".{path.name}.restore")
            partial.write_bytes(content)
            os.replace(partial, path)

    def is_run(self) -> bool:
        return self.config_path.is_file()

    def metrics(self) -> dict[str, Any] | None:
        """The run's `metrics.json`, or None before it has finished (or failed)."""
        return json.loads(self.metrics_path.read_text()) if self.metrics_path.is_file() else None

    def saved_overrides(self) -> list[str]:
        return [str(o) for o in saved_yaml(self.overrides_path)] if self.overrides_path.is_file() else []

    def checkpoint(self) -> Path | None:
        """The checkpoint that stands for the run's result: its best one, else its last; None without."""
        return next((path for path in (self.best, self.last) if path.is_file()), None)

    def config(self) -> DictConfig:
        """The config the run was trained with (not today's defaults), pointed at its own folder. A run
        folder is data: one naming a `_target_` that conf/ does not build is refused (results/targets.py)."""
        register_resolvers()
        cfg = saved_yaml(self.config_path)
        if not isinstance(cfg, DictConfig) or not isinstance(cfg.get("paths"), DictConfig):
            raise RunFolderError(f"{self.config_path} is not a run's config: it has no paths")
        cfg.paths.output_dir = str(self.folder.resolve())
        # Runs saved before a top-level setting existed get its default, before a class was renamed its
        # new name, and before the stock Trainer no `epochs_per_step`.
        defaults = OmegaConf.load(CONF_DIR / f"{CONFIG_NAME}.yaml")
        for key in fields(RunSettings):
            if key.name not in cfg:
                cfg[key.name] = defaults[key.name]
        for resolve in (False, True):
            refuse_untrusted(self.config_path, config_targets(self.config_path, cfg, resolve), RENAMED)
        refuse_untrusted(self.overrides_path, override_targets(self.overrides_path, self.saved_overrides()))
        for node in _target_nodes(cfg):
            node._target_ = RENAMED.get(node._target_, node._target_)
        cfg.trainer.pop("epochs_per_step", None)
        return cfg

    def lesson(self) -> str:
        """The lesson the run trained, read from its saved config without building anything."""
        return str(saved_yaml(self.config_path).get("lesson_name"))

    def save_config(self, cfg: DictConfig) -> None:
        """Write the run's config with its paths made absolute, as they are now (working directory,
        $LESSONS_DATA_DIR): eval, resume and predict then rebuild exactly what was trained, from anywhere."""
        for key in cfg.paths:
            cfg.paths[key] = str(Path(cfg.paths[key]).resolve())
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.config_path.with_name(f".{self.config_path.name}.{os.getpid()}")
        OmegaConf.save(cfg, partial)  # every process of a multi-process run writes the same file: no torn one
        os.replace(partial, self.config_path)

    def latest_write(self) -> float:
        """When a checkpoint of this run was last written (0 without any): how "newest" is judged."""
        return max((path.stat().st_mtime for path in (self.best, self.last) if path.is_file()), default=0.0)


def saved_yaml(path: Path) -> DictConfig | ListConfig:
    """A run's saved yaml, or one line naming the file when an edit broke it (not a parser's traceback)."""
    try:
        return OmegaConf.load(path)
    except (yaml.YAMLError, OmegaConfBaseException, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise RunFolderError(
            f"{path} is not valid YAML{where}: {problem}. Undo the edit, or copy the run's folder again"
        ) from None


def _target_nodes(node: Any) -> Iterator[DictConfig]:
    """Every node of a config that names a class to build."""
    if isinstance(node, DictConfig) and "_target_" in node:
        yield node
    keys = (
        node.keys()
        if isinstance(node, DictConfig)
        else range(len(node))
        if isinstance(node, ListConfig)
        else []
    )
    for key in keys:
        if not OmegaConf.is_interpolation(node, key):
            yield from _target_nodes(node[key])


def run_folder(folder: str | Path) -> Run:
    """The run in `folder`, or an error saying why it is not one."""
    run = Run(Path(folder))
    if not run.folder.is_dir():
        raise RunFolderError(f"run folder not found: {run.folder}")
    if not run.is_run():
        raise RunFolderError(
            f"{run.folder} is not a run folder: it has no {run.config_path.relative_to(run.folder)}"
        )
    return run


def chosen(run: str | None, ckpt_path: str | None, usage: str) -> tuple[Run, Path]:
    """The run and the checkpoint `eval` and `predict` use: the run's best (else last), or the one given."""
    if run and ckpt_path:  # a checkpoint names its own run: two answers to one question
        raise ConfigError("give run=<run folder> or ckpt_path=<checkpoint>, not both")
    if ckpt_path:
        if not Path(ckpt_path).is_file():
            raise CheckpointError(f"checkpoint not found: {ckpt_path}")
        return run_of_checkpoint(ckpt_path), Path(ckpt_path)
    if not run:
        raise ConfigError(usage)
    found = run_folder(run)
    checkpoint = found.checkpoint()
    if checkpoint is None:
        raise RunFolderError(f"no checkpoint in {found.checkpoints}: expected best.ckpt or last.ckpt")
    return found, checkpoint


def run_of_checkpoint(checkpoint: str | Path) -> Run:
    """The run a checkpoint was written by (`<run>/checkpoints/<name>.ckpt`), for its saved config."""
    checkpoint = Path(checkpoint)
    run = Run(checkpoint.resolve().parent.parent)
    if checkpoint.resolve().parent.name != CHECKPOINTS or not run.is_run():
        raise RunFolderError(
            f"{checkpoint} is not inside a run folder (<run>/{CHECKPOINTS}/<name>.ckpt beside "
            "<run>/.hydra/), so the config it was trained with is unknown: use the checkpoint where its "
            "run wrote it"
        )
    return run


def lesson_runs(log_dir: str | Path, lesson: str) -> Iterator[Run]:
    """Every run of a lesson under `log_dir`, single runs and sweep jobs alike."""
    lesson_dir = Path(log_dir) / lesson
    for config in [
        *lesson_dir.glob("*/.hydra/config.yaml"),
        *lesson_dir.glob(f"{MULTIRUNS}/*/*/.hydra/config.yaml"),
    ]:
        yield Run(config.parents[1])


def newest_run(log_dir: str | Path, lesson: str, resumable: bool = False) -> Run | None:
    """The lesson's run whose checkpoint was written most recently (with `resumable`, its last.ckpt)."""
    runs = [
        run for run in lesson_runs(log_dir, lesson) if (run.last.is_file() if resumable else run.checkpoint())
    ]
    return max(runs, key=Run.latest_write, default=None)


def all_runs(root: str | Path) -> Iterator[Run]:
    """Every run below `root` that left a `metrics.json` (finished or failed), for reports."""
    for path in sorted(Path(root).rglob("metrics.json")):
        yield Run(path.parent)


def log_dir() -> str:
    """Where runs are written unless told otherwise: `paths.log_dir` of the configs (`logs/`)."""
    return str(OmegaConf.load(CONF_DIR / "paths" / "default.yaml").log_dir)


def log_folder_problem(folder: str | Path, min_free_mb: float) -> str | None:
    """What stops runs from writing under `folder` (not creatable, read-only, disk full), or None:
    checked at start, better than after an hour."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        return (
            f"cannot write to the log folder {folder} ({reason}); choose another with paths.log_dir=<folder>"
        )
    free_mb = shutil.disk_usage(folder).free / 2**20
    if free_mb < min_free_mb:
        return (
            f"the log folder {folder} has only {free_mb:.0f} MB free "
            f"(less than min_free_mb={min_free_mb:g}); "
            "free some space or choose another folder with paths.log_dir=<folder>"
        )
    return None


if __name__ == "__main__":  # `make tensorboard` serves this folder
    print(log_dir())
