"""`make studies` and `make study NAME=<study>`: the notes' concepts as ready-made experiments.

A study (`conf/study/<name>.yaml`) is Hydra multiruns of existing lessons, all into one folder so that
`tensorboard --logdir` shows them side by side; it ends with one table and one figure (`figures.py`).
"""

import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from lightning_lessons.cli import check_command_line, override_key
from lightning_lessons.config import CONF_DIR, compose, stamp
from lightning_lessons.data.mnist import local_data_dir
from lightning_lessons.errors import ConfigError, run_or_explain
from lightning_lessons.results.sweeps import RESULTS_FILE, Job, read_jobs, table_text, write_csv
from lightning_lessons.results.tables import aligned
from lightning_lessons.studies.figures import finish

STUDY_DIR = CONF_DIR / "study"


@dataclass(frozen=True)
class Multirun:
    """One `python -m lightning_lessons.train -m ...`: its overrides, and its jobs' folder name (Hydra's
    `sweep.subdir`, e.g. `${hydra:runtime.choices.model/optimizer}`: a run named by what it tries)."""

    overrides: list[str]
    folder: str = "${hydra.job.num}"


@dataclass(frozen=True)
class Study:
    """One `conf/study/<name>.yaml`."""

    name: str
    description: str  # one line, for `make studies`
    look_at: str  # what the learner should read in the table, figure and TensorBoard
    common: list[str]  # overrides every multirun of the study shares
    multiruns: list[Multirun]
    mnist: bool = False  # reads MNIST: point paths.data_dir at this machine's copy

    def check(self, overrides: Sequence[str]) -> None:
        """Before any job: ConfigError for an override of a key its runs set one by one (every run would
        try the same, in folders named for what they no longer try), or for one `train` would refuse."""
        compared: dict[str, str] = {}  # key: the first override of it, for the message
        for override in (o for multirun in self.multiruns for o in multirun.overrides):
            compared.setdefault(override_key(override), override)
        for override in overrides:
            if override_key(override) in compared:
                raise ConfigError(
                    f"study {self.name} compares {override_key(override)} (each run sets its own, e.g. "
                    f"{compared[override_key(override)]}); {override} would set it for every run: drop it "
                    "from ARGS, or try it on the lesson itself with make train or make sweep"
                )
        for multirun in self.multiruns:
            problem = check_command_line(["-m", *self.common, *multirun.overrides, *overrides])
            if problem:
                raise ConfigError(problem)

    def commands(self, folder: Path, overrides: Sequence[str] = ()) -> list[list[str]]:
        """The command line of each multirun; `overrides` (e.g. shorter runs) come last and win."""
        data_dir = [f"paths.data_dir={local_data_dir(CONF_DIR.parent)}"] if self.mnist else []
        train = [sys.executable, "-m", "lightning_lessons.train", "-m", *self.common]
        return [
            [
                *train,
                *multirun.overrides,
                *data_dir,
                *overrides,
                f"hydra.sweep.dir={folder}",
                f"hydra.sweep.subdir={multirun.folder}",
                "~hydra.callbacks.sweep_table",  # one table for the whole study instead, below
            ]
            for multirun in self.multiruns
        ]


def study_names() -> list[str]:
    return sorted(path.stem for path in STUDY_DIR.glob("*.yaml"))


def load_study(name: str) -> Study:
    path = STUDY_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no study '{name}'; the studies are: {', '.join(study_names())}")
    # Unresolved: `${hydra:...}` in a folder name is for Hydra to resolve in each job.
    spec = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    multiruns = [Multirun(**multirun) for multirun in spec.pop("multiruns")]
    return Study(name=name, multiruns=multiruns, **spec)


def study_jobs(folder: Path) -> list[Job]:
    """The study's jobs in the order they ran (their folders are named by what they try, not numbered)."""
    return sorted(read_jobs(folder), key=lambda job: (job.folder / ".hydra").stat().st_mtime)


def run_study(study: Study, log_dir: Path | str = "logs", overrides: Sequence[str] = ()) -> Path:
    """Run every multirun of the study into one folder, then print its table and draw its figure.

    Returns the study's folder; exits non-zero after the table when a job failed, as a sweep does.
    """
    study.check(overrides)
    folder = Path(log_dir).resolve() / "studies" / study.name / stamp()
    for command in study.commands(folder, overrides):
        subprocess.run(command, check=False)  # a failed job is recorded in its folder and shown below
    jobs = study_jobs(folder) if folder.is_dir() else []
    if not jobs:
        raise SystemExit(f"error: study {study.name} ran no job (see the messages above)")
    notes = finish(study.name, folder, jobs)
    write_csv(folder / RESULTS_FILE, jobs)
    failed = [job for job in jobs if job.status != "completed"]
    print(f"\nstudy {study.name}: {folder}: {len(jobs)} runs, {len(failed)} failed", flush=True)
    print(table_text(jobs))
    print("\n".join(notes))
    print(f"look at: {study.look_at}")
    print(f"table: {folder / RESULTS_FILE}\ntensorboard --logdir {folder}")
    if failed:
        print(
            f"error: study {study.name} has failed runs; each one's traceback is in its error.txt",
            file=sys.stderr,
        )
        raise SystemExit(1)
    return folder


def list_studies() -> str:
    names = study_names()
    lines = aligned([(name, load_study(name).description) for name in names])
    return "\n".join([*lines, '\nRun one: make study NAME=<name> [ARGS="key=value ..."]'])


def main(argv: Sequence[str] | None = None) -> None:
    """`studies` lists them; `studies <name> [overrides ...]` runs one."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(list_studies())
        return
    name, *overrides = args
    log_dir = next((o.split("=", 1)[1] for o in overrides if o.startswith("paths.log_dir=")), None)
    run_or_explain(lambda: run_study(load_study(name), log_dir or compose().paths.log_dir, overrides))
