"""The README and docs/ cannot drift from the code: every short command in their ```bash blocks runs,
in order, page by page, in a scratch folder that links to this checkout. Training commands are made
short (a hundredth of their epochs, two batches of MNIST, two Optuna trials); `<run>` becomes the
newest run of that lesson. What cannot run here is listed below with its reason."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT
from PIL import Image, ImageDraw

from lightning_lessons.config import compose
from lightning_lessons.data.fashion import DEBIAN_ARCHIVE_DIR
from lightning_lessons.data.mnist import local_data_dir

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINKED = ("Makefile", "pyproject.toml", "conf", "src", "scripts", "tests", ".venv", "docs", "README.md")

# (pattern, why it is not run here)
EXCLUDED = (
    (r"\bslurm|\bsrun\b", "needs a SLURM cluster, started as root (make test-slurm runs these)"),
    (
        r"\btorchrun\b|torch\.distributed\.run",
        "a launcher of several agents at once (tests/test_torchrun.py)",
    ),
    (r"trainer=gpu|trainer=ddp\b|16-mixed|bf16-mixed", "needs a CUDA GPU"),
    (r"make (test|test-[a-z0-9.-]+)\b|-m pytest", "a test suite: CI runs it"),
    (r"make figures|make test-e2e", "needs a browser (headless Chromium)"),
    (r"make tensorboard|tensorboard --logdir", "a server that runs until it is stopped"),
    (r"make format\b", "rewrites the sources"),
    (r"\bapt-get\b|\bsudo\b|pip install", "installs system or network packages"),
    (r"make bench\s*($|#)|NAME=(optimizers|optimizers_mnist|landscape)\b|bench_histograms", "takes minutes"),
)
MNIST_LESSONS = ("mnist_cnn", "denoise_mlp", "denoise_conv", "transfer_fashion")
MNIST_SHORT = {
    "trainer.max_epochs": "1",
    "+trainer.limit_train_batches": "2",
    "+trainer.limit_val_batches": "2",
    "+trainer.limit_test_batches": "2",
}
# Studies are not shortened: each run sets the length it compares.
TRAINS = re.compile(r"make (train|sweep|compare|lr-find)\b|lightning_lessons\.(train|lr_find)\b")


def without_comment(line: str) -> str:
    """The line up to a `#` that starts a word outside quotes, as bash reads it."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].strip()
    return line.strip()


def commands(page: Path) -> list[str]:
    """The commands of a page's ```bash blocks, continuation lines joined, comments dropped."""
    blocks = re.findall(r"^```bash\n(.*?)^```", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    lines = [without_comment(line) for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [line for line in lines if line]


def excluded(command: str) -> str | None:
    return next((why for pattern, why in EXCLUDED if re.search(pattern, command)), None)


def shortened(command: str) -> str:
    """The command with small lengths: what is given is scaled down, what is not is added."""
    if command.startswith("make bench"):
        command = re.sub(r"--repeats \d+", "", command)
        return re.sub(r'ARGS="', 'ARGS="--steps 20 --repeats 1 ', command)
    if not TRAINS.search(command):
        return command
    lesson = re.search(r"\b(?:LESSON|lesson)=(\w+)", command)
    lesson = lesson.group(1) if lesson else "linear_regression"
    settings: dict[str, str] = {}
    if "hparams_search=" in command:
        settings["hydra.sweeper.n_trials"] = "2"
    if lesson in MNIST_LESSONS:
        settings.update(MNIST_SHORT)
    else:
        given = re.search(r"\bepochs=(\d+)", command)
        epochs = int(given.group(1)) if given else compose([f"lesson={lesson}"]).epochs
        settings["epochs"] = str(max(20, epochs // 100))
    added = []
    for key, value in settings.items():
        pattern = rf"(?<![\w.+]){re.escape(key)}=[^\s'\"]+"
        if re.search(pattern, command):
            command = re.sub(pattern, f"{key}={value}", command)
        else:
            added.append(f"{key}={value}")
    if not added:
        return command
    if re.search(r"ARGS=['\"]", command):
        return re.sub(r"ARGS=(['\"])", rf"ARGS=\1{' '.join(added)} ", command, count=1)
    if command.startswith("make "):
        return f"{command} ARGS='{' '.join(added)}'"
    head, flag, tail = command.partition(" --")  # before a trailing flag such as --cfg job
    return f"{head} {' '.join(added)}{flag}{tail}"


def with_runs(command: str, scratch: Path) -> str:
    """`logs/<lesson>/<run>` as the newest run of that lesson."""

    def newest(match: re.Match[str]) -> str:
        runs = sorted((scratch / "logs" / match.group(1)).glob("20*"), key=lambda path: path.stat().st_mtime)
        assert runs, f"no run of {match.group(1)} before: {command}"
        return str(runs[-1].relative_to(scratch))

    return re.sub(r"logs/(\w+)/<run>", newest, command)


def scratch_checkout(folder: Path) -> Path:
    for name in LINKED:
        (folder / name).symlink_to(ROOT / name)
    for name in ("a.png", "b.jpg"):  # pictures of digits, for make predict
        image = Image.new("RGB", (60, 80), "white")
        ImageDraw.Draw(image).line([(30, 10), (30, 70)], fill="black", width=8)
        image.save(folder / name)
    return folder


@pytest.mark.docs
@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_short_command_of_the_page_works_as_written(page, tmp_path):
    scratch = scratch_checkout(tmp_path)
    env = {**os.environ, "LESSONS_DATA_DIR": str(local_data_dir(ROOT).resolve()), "PYTHONUNBUFFERED": "1"}
    ran = 0
    for command in commands(page):
        if excluded(command):
            continue
        if "transfer_fashion" in command and not Path(DEBIAN_ARCHIVE_DIR).is_dir():
            continue  # Fashion-MNIST offline comes from Debian's dataset-fashion-mnist (docs/lessons.md)
        line = with_runs(shortened(command), scratch)
        completed = subprocess.run(
            ["bash", "-c", line], cwd=scratch, env=env, capture_output=True, text=True, timeout=300
        )
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, f"{page.name}: {line}\n{output[-3000:]}"
        assert "Traceback" not in output, f"{page.name}: {line}\n{output[-3000:]}"
        ran += 1
    assert ran or not commands(page) or all(excluded(command) for command in commands(page))


def test_every_page_the_readme_names_exists():
    readme = (ROOT / "README.md").read_text()
    linked = re.findall(r"\]\(((?:docs/)[^)#]+)\)", readme)
    assert linked and [link for link in linked if not (ROOT / link).exists()] == []
    pages = {f"docs/{page.name}" for page in PAGES[1:]}
    assert pages <= set(linked), pages - set(linked)  # and every page is reachable from it


def test_the_readme_stays_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
