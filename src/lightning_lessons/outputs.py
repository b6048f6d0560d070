"""Refuse, at start, a run whose results could not be written: better now than after an hour."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def output_folder_problem(folder: str | Path, min_free_mb: float) -> str | None:
    """What stops runs from writing under `folder` (not creatable, read-only, disk full), or None."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        reason = error.strerror or str(error)
        return (
            f"cannot write to the log folder {folder} ({reason}); choose another with paths.log_dir=<folder>"
        )
    free_mb = shutil.disk_usage(folder).free / 2**20
    if free_mb < min_free_mb:
        return (
            f"the log folder {folder} has only {free_mb:.0f} MB free "
            f"(less than min_free_mb={min_free_mb:g}); "
            "free some space or choose another folder with paths.log_dir=<folder>"
        )
    return None
