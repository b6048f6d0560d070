"""The command line, in one place: overrides checked before a run folder exists, `resume=...`, and
the `key=value` arguments of eval and predict. A resume is resolved before Hydra starts, because Hydra
would otherwise make a new run folder; the run keeps its own overrides and paths, new ones on top."""

import difflib
import inspect
from collections.abc import Sequence
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.utils import get_object
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lightning_lessons.config import CONFIG_NAME, compose
from lightning_lessons.errors import ConfigError, ResumeError, fail
from lightning_lessons.results.checkpoints import resumable_checkpoint
from lightning_lessons.results.runs import LAST, RESUMING, Run, log_folder_problem, newest_run, run_folder
from lightning_lessons.results.sweep_resume import (
    RESUME_SETS,
    is_sweep,
    latest_sweep,
    resumed_search,
    sweep_changes,
    sweep_record,
)
from lightning_lessons.results.torchrun import job_id, job_id_problem, restart_problem, trainer_problem
from lightning_lessons.schema import check_config
from lightning_lessons.slurm.cluster import cluster_problem


def override_key(override: str) -> str:
    """The key an override sets: `+model.net.width=3` -> `model.net.width`."""
    return override.split("=", 1)[0].lstrip("+~")


def _unknown_key(error: BaseException) -> str | None:
    while error is not None:
        if isinstance(error, OmegaConfBaseException) and "not in struct" in str(error):
            return error.full_key
        error = error.__cause__
    return None


def _explain_unknown_key(key: str, overrides: list[str], config_name: str) -> str:
    parent = key.rpartition(".")[0]
    others = [o for o in overrides if override_key(o) != key]
    try:
        node = compose(others, config_name)
        node = OmegaConf.select(node, parent) if parent else node
    except (HydraException, OmegaConfBaseException):
        node = None
    return explain_unknown_key(key, node)


def explain_unknown_key(key: str, node: object) -> str:
    """What to say about a key the config does not have: close keys, and what its parent `node` holds."""
    parent, _, name = key.rpartition(".")
    lines = [f"unknown config key '{key}'."]
    if isinstance(node, DictConfig):
        allowed = sorted(str(k) for k in node if not str(k).startswith("_"))
        target = node.get("_target_")
        takes = list(inspect.signature(get_object(target)).parameters) if target else []
        if name in takes:
            return f"'{key}' is not set by this config, though {target} takes it: add it with +{key}=<value>"
        close = difflib.get_close_matches(name, allowed + [t for t in takes if t not in allowed], n=3)
        # One level down too: `model.lr` is `model.optimizer.lr` in every lesson.
        close += [
            f"{child}.{name}"
            for child in allowed
            if not OmegaConf.is_interpolation(node, child)
            and isinstance(node[child], DictConfig)
            and name in node[child]
        ]
        prefix = f"{parent}." if parent else ""
        if close:
            lines.append("Did you mean: " + ", ".join(prefix + c for c in close) + "?")
        lines.append(f"Keys set under '{parent or '<top level>'}': " + (", ".join(allowed) or "(none)"))
        if target:
            lines.append(
                f"{target} takes more; add one the config does not set with '+': +{prefix}<name>=<value>"
            )
    return "\n".join(lines)


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """`key=value` overrides on a saved config (eval), refusing keys it does not have as `train` does."""
    parser = OverridesParser.create()
    for override in overrides:
        try:
            parsed = parser.parse_override(override)
        except HydraException as error:
            raise ConfigError(str(error)) from error
        key = parsed.key_or_group
        parent, _, name = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if not isinstance(node, DictConfig) or (name not in node and not parsed.is_add()):
            raise ConfigError(explain_unknown_key(key, node))
        OmegaConf.update(cfg, key, parsed.value(), force_add=parsed.is_add())
    return cfg


def check_command_line(argv: Sequence[str], config_name: str = CONFIG_NAME) -> str | None:
    """What is wrong with the config the command line asks for, or None. Checked before Hydra makes
    a run folder, so a bad override leaves nothing behind; sweeps are left to each job's own check and
    Hydra's flags to Hydra."""
    if any(arg.startswith("-") and arg not in ("-m", "--multirun") for arg in argv):
        return None
    try:
        parsed = OverridesParser.create().parse_overrides([a for a in argv if not a.startswith("-")])
    except HydraException as error:
        return str(error)
    overrides = [o.input_line for o in parsed if not o.is_sweep_override()]
    try:
        cfg = compose(overrides, config_name)
    except (HydraException, OmegaConfBaseException) as error:
        key = _unknown_key(error)
        if key:
            return _explain_unknown_key(key, overrides, config_name)
        return str(error).split("\nConfig search path:")[0].strip()
    problems = check_config(cfg)
    if problems:
        return "\n".join(problems)
    if not isinstance(cfg.paths.log_dir, str) or not cfg.paths.log_dir.strip():
        return f"paths.log_dir={cfg.paths.log_dir!r} names no folder: give one, e.g. paths.log_dir=logs"
    return log_folder_problem(cfg.paths.log_dir, cfg.min_free_mb) or cluster_problem(argv)


# --- resume ---------------------------------------------------------------------------------------

KEYS = ("resume", "ckpt_path")  # replaced by the resumed run's own overrides and its last.ckpt
PINNED = ("paths.data_dir", "paths.log_dir")  # taken from the run's saved config unless given anew
# What a run computes: a resume that changed any of it would continue one run as another. Within
# them, keys that only say where files are or how fast data is fed may change.
MATHS = ("lesson_name", "seed", "data_fraction", "monitor", "model", "data")
MATHS_TRAINER = ("precision", "gradient_clip_val", "gradient_clip_algorithm", "accumulate_grad_batches")
NOT_MATHS = ("num_workers", "pin_memory", "download", "eval_batch_size")


def resume_target(argv: Sequence[str]) -> str | None:
    """`latest`, a run folder, or None when the command line does not resume."""
    wanted = {override_key(a): a.split("=", 1)[1] for a in argv if override_key(a) in KEYS and "=" in a}
    if "resume" in wanted and not wanted["resume"].strip("'\" "):
        raise ResumeError("resume= names no run: resume=latest, or resume=<run folder>")
    return wanted.get("resume") or ("latest" if wanted.get("ckpt_path") == "last" else None)


def without_resume(argv: Sequence[str]) -> list[str]:
    return [a for a in argv if override_key(a) not in KEYS]


def composed(overrides: Sequence[str], with_hydra: bool = False) -> DictConfig:
    """The config of these overrides, or the command-line check's explanation of what is wrong."""
    overrides = [a for a in overrides if not a.startswith(("-", "hydra."))]
    try:
        return compose(overrides, with_hydra=with_hydra)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(check_command_line(overrides) or str(error)) from None


def find_run(target: str, rest: Sequence[str]) -> Run:
    """The run to continue: the lesson's newest with a last.ckpt, or the folder given."""
    if target == "latest":
        cfg = composed(rest)
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
    rest = without_resume(args)
    if resumes_sweep(target, args):
        return sweep_resume_arguments(target, rest)
    run = find_run(target, rest)
    if run.busy():
        raise ResumeError(f"{run.folder} is running now (another process holds its lock): let it finish")
    resumable_checkpoint(run.last)
    saved = run.config()
    typed = {override_key(a): a.partition("=")[2] for a in rest}
    if typed.get("lesson", saved.lesson_name) != saved.lesson_name:
        raise ResumeError(
            f"{run.folder} is a run of lesson {saved.lesson_name}, not {typed['lesson']}: "
            f"resume it without lesson=, or start a new run of {typed['lesson']}"
        )
    # The lesson comes from the run itself (a Makefile's default LESSON does not override it).
    rest = [a for a in rest if override_key(a) != "lesson"]
    given = {override_key(a) for a in rest}
    kept = [f"lesson={saved.lesson_name}"]
    kept += [o for o in run.saved_overrides() if override_key(o) not in given | {*KEYS, "lesson"}]
    # A full-batch run resumed for longer keeps the size of its Lightning epochs, so its checkpoint's
    # epoch count still means the same steps.
    per_epoch = OmegaConf.select(saved, "data.steps_per_epoch")
    if per_epoch is not None and saved.data.batch_size is None and "data.steps_per_epoch" not in given:
        kept.append(f"data.steps_per_epoch={per_epoch}")
    cfg = composed([*kept, *rest])
    changed = maths_changes(saved, cfg, list(given))
    if changed:
        raise ResumeError(
            f"a resume continues the run as it was; it cannot change {', '.join(changed)}. "
            "Start a new run with these settings instead"
        )
    refuse_finished(run, cfg)
    return [*kept, *rest, *pinned_paths(run, cfg), f"hydra.run.dir='{run.folder.resolve()}'", RESUMING]


def resumes_sweep(target: str, args: Sequence[str]) -> bool:
    """A sweep's folder, or `latest` of a multirun (`-m`, or an Optuna search: `hparams_search=...`)."""
    search = any(override_key(a) == "hparams_search" and not a.endswith("=null") for a in args)
    if {"-m", "--multirun"} & set(args) or search:
        return True
    return target != "latest" and is_sweep(Path(target))


def sweep_resume_arguments(target: str, rest: Sequence[str]) -> list[str]:
    """The sweep's own overrides, new ones on top (refused if they change the sweep), its folder as
    Hydra's sweep dir and `ckpt_path=last`: each job then continues its own folder
    (results/sweep_resume.py). An Optuna search runs only the trials it still lacks."""
    given = [a for a in rest if a not in ("-m", "--multirun")]
    if target == "latest":
        cfg = composed(fixed_overrides(given))
        folder = latest_sweep(cfg.paths.log_dir, cfg.lesson_name)
    else:
        folder = Path(target)
    record = sweep_record(folder)
    if Run(folder).busy():
        raise ResumeError(f"{folder} is running now (another process holds its lock): let it finish")
    typed = {override_key(a) for a in given}
    kept = [o for o in [*record.overrides, *record.hydra_overrides] if override_key(o) not in typed]
    args = [a for a in [*kept, *given] if override_key(a) not in RESUME_SETS]
    fixed = fixed_overrides(args)
    try:
        cfg = compose([*fixed, f"hydra.sweep.dir={folder.resolve()}"], with_hydra=True)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(check_command_line(fixed) or str(error)) from None
    task = [o for o in args if not override_key(o).startswith("hydra")]
    changed = sweep_changes(record, task, cfg.hydra.sweeper)
    if changed:
        raise ResumeError(
            f"{folder} was started as another sweep: a resume cannot change {', '.join(changed)}. Resume "
            f"it with the command line that started it, or with -m resume={folder} alone"
        )
    args += [f"hydra.sweep.dir='{folder.resolve()}'", RESUMING]
    if "n_trials" in cfg.hydra.sweeper:  # an Optuna search: its study says which trials are left
        search = resumed_search(folder, cfg.hydra.sweeper)
        args = [a for a in args if override_key(a) not in {override_key(o) for o in search}] + search
    return ["-m", *args]


def fixed_overrides(overrides: Sequence[str]) -> list[str]:
    """The overrides that set one value (not `seed=1,2` or `lr=interval(...)`), which compose takes."""
    try:
        parsed = OverridesParser.create().parse_overrides([a for a in overrides if not a.startswith("-")])
    except HydraException as error:
        raise ConfigError(str(error)) from None
    return [o.input_line for o in parsed if not o.is_sweep_override()]


def _flat(node: object, prefix: str) -> dict[str, object]:
    if isinstance(node, dict):
        return {k: v for key, item in node.items() for k, v in _flat(item, f"{prefix}.{key}").items()}
    return {prefix: node}


def maths_settings(cfg: DictConfig) -> dict[str, object]:
    """What a run computes, resolved and flattened to `key: value`."""
    picked = {key: OmegaConf.select(cfg, key) for key in MATHS}
    picked |= {f"trainer.{key}": OmegaConf.select(cfg, f"trainer.{key}") for key in MATHS_TRAINER}
    flat: dict[str, object] = {}
    for key, value in picked.items():
        flat |= _flat(
            OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value, key
        )
    return {k: v for k, v in flat.items() if not k.endswith("_dir") and k.rpartition(".")[2] not in NOT_MATHS}


def maths_changes(saved: DictConfig, cfg: DictConfig, typed: Sequence[str]) -> list[str]:
    """`key (then -> now)` for each setting that would make a resume compute another run: the run's
    own settings, and those the command line adds (a key the run did not have is a newer default)."""
    then, now = maths_settings(saved), maths_settings(cfg)
    added = [key for key in now if key not in then and any(key.startswith(t) for t in typed)]
    return [
        f"{key} ({then.get(key)} -> {now.get(key)})"
        for key in [*then, *added]
        if then.get(key) != now.get(key)
    ]


def resumed_folder(argv: Sequence[str]) -> str | None:
    """The run folder a command line names for Hydra (`hydra.run.dir=...`), as given."""
    folders = [a.partition("=")[2].strip("'\"") for a in argv if override_key(a) == "hydra.run.dir"]
    return folders[-1] if folders else None


def run_dir_problem(argv: Sequence[str]) -> str | None:
    """Two runs never share a folder: a new run into a folder that already holds files is refused.
    (Lightning's DDP processes after the first are started with their run's folder, and are let be;
    torchrun starts a job's processes alike, and they share the folder its job id names.)"""
    folder = resumed_folder(argv)
    if RESUMING in argv:
        return None
    if job_id() is not None and not {"-m", "--multirun"} & set(argv):
        return torchrun_problem(argv, folder)
    if folder is None or rank_zero_only.rank != 0:
        return None
    if Path(folder).is_dir() and any(Path(folder).iterdir()):
        return (
            f"hydra.run.dir={folder} already holds files: a new run needs a folder of its own "
            f"(to continue the run there: resume={folder})"
        )
    return None


def torchrun_problem(argv: Sequence[str], folder: str | None) -> str | None:
    """A torchrun job's folder (`torchrun-<id>`, or hydra.run.dir) is new, or holds an unfinished run
    of the same settings, which the job continues (torchrun restarted it, or the command ran again).
    Every process asks before Hydra writes there, and before any of them trains (torchrun.py)."""
    problem = restart_problem() or (job_id_problem() if folder is None else None)
    if problem:
        return problem
    cfg = composed(argv, with_hydra=True)
    problem = trainer_problem(cfg.trainer.devices, cfg.trainer.get("num_nodes", 1))
    if problem:
        return problem
    run = Run(Path(folder or cfg.hydra.run.dir))
    if not run.last.is_file():
        return None
    fix = "another hydra.run.dir" if folder else "another torchrun job id: --rdzv-id=<new name>"
    if (run.metrics() or {}).get("status") == "completed":
        return f"{run.folder} holds a finished run: a new run needs {fix}"
    changed = maths_changes(run.config(), cfg, [override_key(a) for a in argv])
    if changed:
        return (
            f"{run.folder} holds a run with other settings ({', '.join(changed)}): a new run needs {fix}; "
            "the same settings continue it"
        )
    return None


def pinned_paths(run: Run, cfg: DictConfig) -> list[str]:
    """Overrides that keep the run's data and log folders where they were when it started."""
    saved = OmegaConf.load(run.config_path)
    pins = []
    for key in PINNED:
        then = OmegaConf.select(saved, key, throw_on_resolution_failure=False)
        now = OmegaConf.select(cfg, key)
        if then is not None and Path(then).resolve() != Path(now).resolve():
            pins.append(f"{key}='{then}'")
    return pins


def refuse_finished(run: Run, cfg: DictConfig) -> None:
    """Resuming a finished run with nothing more to do would only overwrite its results: say so."""
    record = run.metrics()
    if record is None or record.get("status") != "completed":
        return  # killed or failed: there is work left, and nothing final to lose
    if cfg.trainer.max_epochs <= record["epochs"]:
        # Its length as the user sets it: the lesson's epochs, unless trainer.max_epochs was given.
        per_epoch = OmegaConf.select(cfg, "data.steps_per_epoch", default=1)
        key = "epochs" if cfg.trainer.max_epochs * per_epoch == cfg.epochs else "trainer.max_epochs"
        trained = record["epochs"] * (per_epoch if key == "epochs" else 1)  # in the unit of `key`
        raise ResumeError(
            f"{run.folder} is finished: it trained all {trained} of its epochs ({key}={trained}). "
            f"To train it further, ask for more: resume={run.folder} {key}={2 * trained}; "
            f"to test it again: make eval RUN={run.folder}"
        )


# --- the tools' key=value arguments ------------------------------------------------------------


def parse_key_values(argv: Sequence[str], known: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split `key=value` arguments into the tool's own settings and config overrides."""
    settings: dict[str, str] = {}
    overrides: list[str] = []
    for argument in argv:
        key, equals, value = argument.partition("=")
        if not equals:
            fail(f"arguments are key=value pairs, got '{argument}' (known keys: {', '.join(known)})")
        if key in known:
            settings[key] = value
        else:
            overrides.append(argument)
    return settings, overrides
