"""How a sweep on SLURM learns that its jobs ended, on clusters without job accounting too.

submitit asks `sacct` for its jobs' states. Where the cluster keeps no accounting (no slurmdbd: the
local test cluster, many small clusters) every poll fails: `sacct` prints an error line on the console
and submitit a warning, a wall of them around the sweep's table; and a job that ended without writing
its result (killed, out of memory, node lost) is never seen to end, so the sweep waits forever.
There, `squeue` knows the states; a job it no longer lists has ended.
"""

import getpass
import subprocess
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from submitit.slurm.slurm import SlurmInfoWatcher, SlurmJob

ENDED = "ENDED"  # no longer queued: finished, failed or killed (its result file says which)


def has_accounting() -> bool:
    """Whether `sacct` answers here (it fails at once, with an error line, where accounting is off)."""
    try:
        probe = subprocess.run(["sacct", "--noheader", "--format=JobID", "--jobs=1"], capture_output=True)
    except FileNotFoundError:
        return False
    return probe.returncode == 0


class QueueWatcher(SlurmInfoWatcher):
    """submitit's watcher, with `squeue` in place of `sacct` (see the module)."""

    def _make_command(self) -> list[str] | None:
        if super()._make_command() is None:
            return None  # every job known to have ended
        return ["squeue", "--noheader", "--states=all", "--format=%i|%T|%N", f"--user={getpass.getuser()}"]

    def read_info(self, string: bytes | str) -> dict[str, dict[str, str]]:
        text = string.decode() if isinstance(string, bytes) else string
        listed = super().read_info("JobID|State|NodeList\n" + text)
        for job in self._registered - self._finished:
            if job not in listed:  # a pending array's range "7_[0-3]" is listed as 7_0 ... 7_3
                listed[job] = {"JobID": job, "State": ENDED, "NodeList": ""}
        return listed


class JobStates(Callback):
    """Hydra callback: before a SLURM sweep starts, use `squeue` when the cluster has no accounting."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.launcher.get("_target_", "").endswith(".SlurmLauncher") and not has_accounting():
            # submitit's jobs share one watcher, a class attribute: replaced for this process.
            SlurmJob.watcher = QueueWatcher(delay_s=60)  # squeue is cheap: at most a minute between polls
