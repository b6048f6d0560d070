"""The console of a sweep on SLURM, on clusters without job accounting too (conf/hydra/default.yaml)."""

from __future__ import annotations

import logging


class NoSacctFallbackNotes(logging.Filter):
    """Drops submitit's "Bypassing sacct error ..., status may be inaccurate".

    submitit asks `sacct` for its jobs' states every few seconds. Where the cluster keeps no accounting
    (no slurmdbd, as on the local test cluster) each poll fails and says so before submitit falls back
    to its jobs' result files: a wall of warnings around the sweep's table, and nothing to act on.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "Bypassing sacct error" not in record.getMessage()
