"""Whether a SLURM cluster answers here, asked before a sweep is submitted: without one, submitit fails
inside `sbatch` with a long traceback, after Hydra has made the sweep's folder."""

import shutil
import subprocess
from collections.abc import Sequence

LAUNCHER = "hydra/launcher=slurm"
FIX = f"run on the cluster's login node, set SLURM_CONF to its slurm.conf (make slurm-up), or drop {LAUNCHER}"


def cluster_problem(argv: Sequence[str]) -> str | None:
    """Why a multirun with `hydra/launcher=slurm` cannot submit from here (no `sbatch`, or `sinfo` gets
    no answer from a controller), or None. Without -m Hydra runs locally and submits nothing."""
    if not {"-m", "--multirun"} & set(argv) or LAUNCHER not in (arg.lstrip("+") for arg in argv):
        return None
    if shutil.which("sbatch") is None:
        return f"{LAUNCHER} submits with sbatch, which is not on PATH: {FIX}"
    try:
        probe = subprocess.run(["sinfo", "--noheader"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{LAUNCHER} found no SLURM cluster: sinfo: {error}; {FIX}"
    if probe.returncode == 0:
        return None
    said = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
    return f"{LAUNCHER} found no SLURM cluster: sinfo says '{said}'; {FIX}"
