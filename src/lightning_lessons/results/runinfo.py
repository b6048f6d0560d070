"""What a run was: the config as a tree on the console, and where, when and with what code it ran."""

import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

from lightning_lessons.results.runs import Run

PACKAGES = (
    "lightning-lessons",
    "torch",
    "torchvision",
    "lightning",
    "hydra-core",
    "torchmetrics",
    "tensorboard",
)
# The groups first, in the order a reader follows them; top-level settings last.
TREE_ORDER = ("data", "model", "trainer", "callbacks", "logger", "paths")


def git_commit(folder: Path) -> str | None:
    """The commit the code ran at, `+dirty` when it had uncommitted changes; None outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_info(cfg: DictConfig) -> dict[str, Any]:
    """Enough to tell, months later, how to reproduce a run."""
    return {
        "lesson": cfg.lesson_name,
        "seed": cfg.seed,
        "tags": list(cfg.tags),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] or ["cpu"],
    }


def save_run_info(cfg: DictConfig, run: Run) -> dict[str, Any]:
    """Write `run_info.yaml` beside Hydra's `.hydra/config.yaml` and return it. A resumed run keeps
    how it was first started and adds each resume (when, command, commit) under `resumed`."""
    info = run_info(cfg)
    if cfg.ckpt_path == "last" and run.run_info_path.is_file():
        first = OmegaConf.to_container(OmegaConf.load(run.run_info_path))
        resumes = first.get("resumed", [])
        resumes.append({key: info[key] for key in ("started", "hostname", "command", "git_commit")})
        info = {**first, "resumed": resumes}
    run.folder.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(info), run.run_info_path)
    return info


def print_config_tree(cfg: DictConfig) -> None:
    """The composed config as a Rich tree: one branch per group, its YAML inside. Nothing is cut: a
    terminal wraps long lines at spaces, and a file or pipe gets lines as wide as they need."""
    tree = Tree(f"config of [bold]{cfg.lesson_name}[/bold]", guide_style="dim")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    groups = [key for key in TREE_ORDER if key in resolved]
    branches = {key: resolved[key] for key in groups}
    branches["run"] = {key: value for key, value in resolved.items() if key not in groups}
    widest = 0
    for name, value in branches.items():
        text = OmegaConf.to_yaml(value).rstrip() if isinstance(value, (dict, list)) else f"{value}"
        widest = max(widest, *(len(line) for line in text.splitlines()))
        tree.add(f"[bold]{name}[/bold]").add(Syntax(text, "yaml", theme="ansi_dark", word_wrap=True))
    console = Console()
    if not console.is_terminal:
        console.width = widest + 12  # the tree's guides take 8 columns
    console.print(tree)
