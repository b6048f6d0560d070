"""Checkpoint files that survive a crash mid-write, and a clear message for those that did not."""

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins import TorchCheckpointIO
from torch import nn

from lightning_lessons.errors import CheckpointError, ResumeError, RunFolderError
from lightning_lessons.results.runs import Run, run_of_checkpoint

MID_EPOCH = "interrupted_mid_epoch"  # a checkpoint key: this one was saved inside an epoch (Ctrl+C)


def read_tensors(path: str | Path) -> Any:
    """A torch.save file on the CPU, as data only: every checkpoint (and study file) a user can hand the
    project is read here first. weights_only: tensors and plain containers, a pickled object (`os.system`
    in a `__reduce__`) is refused unrun; mmap: tensors are paged in when used."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError:  # what weights_only refuses
        raise CheckpointError(
            f"{path} holds pickled objects{pickled_names(path)}, not only tensors: refused, nothing in it "
            "was run. Use a checkpoint a run of this project wrote"
        ) from None
    except Exception as error:  # torch raises RuntimeError, EOFError, ... by damage
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({path.stat().st_size} bytes; truncated or corrupt?): "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
        ) from error


def pickled_names(path: Path) -> str:
    """` (posix.system)`: what a torch.save file's pickle calls, read without running it."""
    try:
        return f" ({', '.join(torch.serialization.get_unsafe_globals_in_checkpoint(path))})"
    except Exception:  # a damaged pickle: nothing more to say
        return ""


def read_checkpoint(path: str | Path, training: bool = False) -> dict[str, Any]:
    """The checkpoint's contents on the CPU, or an error naming the file and what is wrong with it.

    `training=True` also asks for what resuming needs (epoch, optimizer state), beyond the weights.
    """
    checkpoint = read_tensors(path)
    needed = ("state_dict", "epoch", "global_step") if training else ("state_dict",)
    missing = [key for key in needed if not isinstance(checkpoint, dict) or key not in checkpoint]
    if missing:
        raise CheckpointError(
            f"{path} is not a Lightning checkpoint of this project: no {', '.join(missing)}"
        )
    return checkpoint


def load_weights(module: nn.Module, weights: dict[str, Any], path: str | Path) -> None:
    """Load a checkpoint's weights; ones that do not fit (an edited config, `model.net.hidden=...` given
    to eval) are one line, not load_state_dict's traceback."""
    try:
        module.load_state_dict(weights)
    except RuntimeError as error:  # its lines after the first: missing, unexpected, mis-shaped weights
        misfit = "; ".join(line.strip().rstrip(".") for line in str(error).splitlines()[1:3])
        raise CheckpointError(
            f"the weights in {path} do not fit the network the config builds ({misfit}): use the config "
            "they were trained with (the run's own, without model.net... overrides)"
        ) from None


def resumable_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint a fit can continue from, or an error naming what is wrong with it."""
    checkpoint = read_checkpoint(path, training=True)
    if "epochs_per_step" in checkpoint:
        raise CheckpointError(
            f"{path} was written by an earlier version of this project, which counted several epochs "
            "in one Lightning step: it can be evaluated (make eval) and transferred from, not resumed"
        )
    return checkpoint


def checkpoint_to_resume(ckpt_path: str | None, run: Run, max_epochs: int) -> str | None:
    """The checkpoint a fit starts from (`last`: the run's own last.ckpt), checked now, not deep in fit."""
    if not ckpt_path:
        return None
    path = run.last if ckpt_path == "last" else Path(ckpt_path)
    if ckpt_path == "last" and not path.is_file():
        raise ResumeError(f"cannot resume {run.folder}: it has no {path.relative_to(run.folder)}")
    checkpoint = resumable_checkpoint(path)
    if run.is_run():
        refuse_other_lesson(path, run.lesson(), "ckpt_path")
    if checkpoint["epoch"] + (0 if checkpoint.get(MID_EPOCH) else 1) >= max_epochs:
        raise ResumeError(
            f"{path} has trained {checkpoint['epoch'] + 1} Lightning epochs ({checkpoint['global_step']} "
            f"steps), and this run asks for {max_epochs}: nothing would train. Ask for more "
            "epochs (for a full-batch lesson with the checkpoint's run's data.steps_per_epoch)"
        )
    return str(path)


def refuse_other_lesson(path: str | Path, lesson: str, setting: str) -> None:
    """Stop when `path` lies in a run folder of another lesson (weights for another network or task)."""
    try:
        source = run_of_checkpoint(path)
    except RunFolderError:
        return
    if source.lesson() != lesson:
        raise CheckpointError(
            f"{path} is a checkpoint of lesson {source.lesson()} (run {source.folder}), and {setting} "
            f"expects one of lesson {lesson}: give a checkpoint of a {lesson} run"
        )


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint beside its final name and renames it into place.

    A run killed while saving (SIGKILL, power loss, a full disk) leaves the previous checkpoint
    intact instead of a truncated file under the name `ckpt_path=last` resumes from. The file's bytes
    are flushed to disk before the rename and the rename itself after it (fsync of the folder): without
    them a power cut can leave the new name pointing at data that never reached the disk.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        torch.save(checkpoint, partial)
        _fsync(partial)
        os.replace(partial, path)
        _fsync(path.parent)

    def load_checkpoint(
        self, path: str | Path, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        """Lightning's read of `ckpt_path` (fit, test) as data only, whatever it asks (2.5: not)."""
        return read_tensors(path)


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') writes to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
