"""The house rules that keep the package readable (docs/ARCHITECTURE.md), held by tests."""

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lightning_lessons"
LIBRARIES = ("lightning", "torch", "tensorboard", "hydra", "submitit", "torchmetrics", "omegaconf")
# Glue that no public API offers, each piece named with its reason in its module (slurm/states.py).
GLUE = {"slurm/states.py"}
ENTRY_POINTS = {"train", "eval", "predict", "lessons", "report", "lr_find", "export"}


def modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }


def imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]


def test_no_private_names_of_the_libraries_outside_the_glue():
    """No `obj._name` on a library object, no import from a private module or of a private name."""
    found = []
    for name, path in modules().items():
        if str(path.relative_to(PACKAGE)) in GLUE:
            continue
        text = path.read_text()
        for node in imports(path):
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            names = [alias.name for alias in node.names]
            if module.startswith(LIBRARIES) and (
                any(part.startswith("_") for part in module.split("."))
                or any(n.startswith("_") for n in names)
            ):
                found.append(f"{name}: from {module} import {', '.join(names)}")
        # A private attribute of anything but our own objects (self._x, cls._x).
        for match in re.finditer(r"(?<![\w.])(\w+)\._[a-z]\w*(?<!_)\b", text):  # not a config's `_target_`
            if match.group(1) not in ("self", "cls", "os", "sys"):
                found.append(f"{name}: {match.group(0)}")
        if "object.__setattr__" in text or re.search(r"load\([^)]*weights_only=False", text):
            found.append(f"{name}: bypasses nn.Module or unpickles")
    assert not found, found


def test_no_subpackage_imports_an_entry_point_and_there_are_no_cycles():
    graph: dict[str, set[str]] = {}
    for name, path in modules().items():
        targets = set()
        for node in imports(path):
            for module in [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]:
                if module and module.startswith("lightning_lessons."):
                    targets.add(module.removeprefix("lightning_lessons."))
        graph[name] = targets
        if "." in name:  # a subpackage's module: entry points sit above it
            assert not targets & ENTRY_POINTS, f"{name} imports the entry point(s) {targets & ENTRY_POINTS}"

    def owner(target: str) -> str | None:
        return target if target in graph else None

    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in filter(None, map(owner, graph[node])):
            assert state.get(target) != 1, f"import cycle: {' -> '.join([*trail, node, target])}"
            if target not in state:
                visit(target, [*trail, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_the_top_level_shows_the_entry_points_and_train_reads_as_the_flow():
    top = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    assert top == ENTRY_POINTS | {"errors", "config", "cli", "schema", "experiment"}, top
    assert len((PACKAGE / "train.py").read_text().splitlines()) <= 150


def test_each_lesson_family_shows_its_training_step():
    for family in ("regression", "manual", "classification", "denoising", "transfer"):
        text = (PACKAGE / "models" / f"{family}.py").read_text()
        assert "def training_step(" in text, family
    manual = (PACKAGE / "models" / "manual.py").read_text()
    assert "self.automatic_optimization = False" in manual and "with torch.no_grad():" in manual


def test_the_package_stays_small():
    # 6,296 lines before the stock core, 4,994 after it; the run record (resume checks, the folder lock,
    # signals, untrusted files, front-door checks) brought it to ~5,560, the learning-rate finder and the
    # verified export (lr_find.py, export.py) to ~5,800, sweeps that resume (results/sweep_resume.py and
    # its command line in cli.py) by ~250 more, torchrun's one folder and restarts (torchrun.py and its
    # folder check in cli.py) by ~125, the loss surface and histograms (~245), the console record, the
    # scheduler and predict's run= (~60): 6,547. Growth beyond is noticed.
    lines = sum(len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py"))
    assert lines <= 6600, lines


def test_every_file_and_function_the_architecture_page_names_exists():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    packages = "conf|nets|models|data|callbacks|results|slurm|studies|twins"
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
