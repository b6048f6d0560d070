"""The house rules that keep the package readable (docs/ARCHITECTURE.md), held by tests."""

import importlib
import re
from pathlib import Path

import lightning

from lightning_lessons.engine.workarounds import WRITTEN_FOR

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lightning_lessons"
# Lightning's private names the lessons rely on: only engine/workarounds.py may use them.
PRIVATE = (
    "_SubprocessScriptLauncher",
    "_every_n_epochs",
    "_every_n_train_steps",
    "_train_time_interval",
    "_last_global_step_saved",
    "_generate_state_key",
    "_save_checkpoint",
    "_save_last_checkpoint",
    "_batches_that_stepped",
    "_current_fx_name",
    "_automatic_optimization",
    ".optim_step_progress",
    "._trainer",
)  # as attributes; a checkpoint's keys (a plain dict, "...optim_step_progress") are not


def test_the_lightning_workarounds_were_checked_against_the_installed_release():
    assert lightning.__version__.startswith(f"{WRITTEN_FOR}."), (
        f"Lightning {lightning.__version__} is installed; engine/workarounds.py was written for "
        f"{WRITTEN_FOR}: re-check each of its entries, then update WRITTEN_FOR"
    )


def test_only_the_workarounds_module_touches_lightnings_private_names():
    users = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "workarounds.py"
        for name in PRIVATE
        if re.search(r"(?<!\w)" * name.startswith("_") + re.escape(name) + r"\b(?![\"'])", path.read_text())
    }
    assert not users


def test_the_top_level_shows_the_entry_points_and_train_reads_as_the_flow():
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    assert {"train.py", "eval.py", "predict.py", "lessons.py", "report.py"} <= set(top)
    assert len((PACKAGE / "train.py").read_text().splitlines()) <= 150


def test_every_file_and_function_the_architecture_page_names_exists():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    packages = "conf|nets|models|data|callbacks|engine|results|slurm|studies|twins"
    named = set(re.findall(rf"`((?:{packages})/[\w./*]*)`", page))
    assert len(named) > 15
    for name in named:
        folder, _, leaf = name.rpartition("/")
        module, _, attribute = leaf.partition(".")
        if name.startswith("conf/") or attribute in ("py", "yaml", "*.yaml", ""):
            where = ROOT / name if name.startswith("conf/") else PACKAGE / name
            assert list(where.parent.glob(where.name)), f"docs/ARCHITECTURE.md names {name}: not there"
        else:  # module.function
            imported = importlib.import_module(f"lightning_lessons.{folder.replace('/', '.')}.{module}")
            assert hasattr(imported, attribute), f"docs/ARCHITECTURE.md names {name}: not there"
