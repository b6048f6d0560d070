"""`make bench` prints its progress and its table, nothing else, and a lesson whose data is missing or
broken costs one line, never the other rows."""

import subprocess
import sys

import pytest
from conftest import ROOT

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@pytest.mark.heavy
def test_bench_skips_a_lesson_with_broken_data_and_prints_every_other_row(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_FILES:
        (raw / name).write_bytes(b"\0\0")  # present, but truncated
    command = [sys.executable, "scripts/benchmark.py", "--lessons", "mnist_cnn", "logistic_regression"]
    options = ["--steps", "30", "--repeats", "1", "--no-pipeline", "--data-dir", str(tmp_path)]
    completed = subprocess.run([*command, *options], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    output = completed.stdout.splitlines()
    assert [line for line in output if line.startswith("skipping ")] == [
        f"skipping mnist_cnn: {raw / 'train-images-idx3-ubyte'} is truncated: "
        "2 bytes is shorter than an IDX header"
    ]
    assert any(line.startswith("logistic_regression ") and line.rstrip().endswith(" us") for line in output)
    # Nothing but the bench's own lines: no progress of the runs it times, no banners, no warnings.
    assert completed.stderr == "", completed.stderr[-2000:]
    assert not [line for line in output if line.startswith(("epoch ", "GPU ", "`Trainer"))]
