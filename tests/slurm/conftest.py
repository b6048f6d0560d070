"""The local SLURM cluster the `slurm` tests submit to (scripts/slurm_cluster.py).

One cluster for the session: the one `make slurm-up` started, if it is running (left running), or a
new one in a folder of its own, stopped at the end by the pids its daemons wrote.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "slurm_cluster.py"


def cluster(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def slurm() -> Iterator[Path]:
    """The cluster's folder; `SLURM_CONF` points sbatch, srun, squeue and scancel at it."""
    started = cluster("status").returncode != 0
    if started:
        folder = Path(tempfile.mkdtemp(prefix="lessons-slurm-"))
        up = cluster("up", "--dir", str(folder))
        assert up.returncode == 0, up.stdout + up.stderr
    else:
        folder = SCRIPT.parents[1] / ".slurm"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLURM_CONF", str(folder / "slurm.conf"))
        yield folder
    if started:
        down = cluster("down", "--dir", str(folder))
        assert down.returncode == 0, down.stderr
        assert cluster("status", "--dir", str(folder)).returncode == 1  # every daemon gone
        shutil.rmtree(folder)
