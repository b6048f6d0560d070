"""What keeps a lesson's training trustworthy: a diverging run stops at once with what to do, and a
checkpoint carries the random state, so a resumed run draws what the uninterrupted one would."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from torch import Tensor

from lightning_lessons.errors import TrainingDiverged

RNG_KEY = "rng_states"


def rng_states() -> dict[str, Any]:
    """The state of the generators training draws from: torch's, on the CPU and each GPU. (The lessons
    draw nothing from Python's or NumPy's; tensors also keep the checkpoint loadable with weights_only.)"""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda}


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


class Guards(L.LightningModule):
    """LightningModule mixin: NaN guards on training and validation losses, RNG state in checkpoints."""

    def on_train_batch_end(self, outputs: Tensor | dict[str, Tensor], batch: object, batch_idx: int) -> None:
        # A NaN loss poisons every later step and checkpoint: stop at once.
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        # `math.isfinite(loss.item())`: 1 us, where `torch.isfinite(loss)` costs 13 us a step here.
        if isinstance(loss, Tensor) and loss.numel() == 1 and not math.isfinite(loss.item()):
            raise TrainingDiverged(self.divergence_message("training", loss.item()))

    def on_validation_batch_end(self, outputs: Tensor, batch: object, batch_idx: int) -> None:
        # Checkpoints are saved after validation: weights whose validation loss is not finite are
        # stopped here, so the last checkpoint on disk is always a good one.
        if (
            self.trainer.state.fn == "fit"
            and isinstance(outputs, Tensor)
            and not torch.isfinite(outputs).all()
        ):
            raise TrainingDiverged(self.divergence_message("validation", float(outputs)))

    def divergence_message(self, which: str, loss: float, epoch: int | None = None) -> str:
        """What happened, the likely cause with the lr to try, and the last good checkpoint."""
        trainer = self.trainer
        epoch = trainer.current_epoch if epoch is None else epoch
        groups = trainer.optimizers[0].param_groups if trainer.optimizers else []
        lr = groups[0]["lr"] if groups else self.hand_lr()
        checkpoint = trainer.checkpoint_callback
        last = checkpoint.last_model_path if checkpoint is not None else ""
        return (
            f"the {which} loss became {loss} at step {trainer.global_step} (epoch {epoch}); "
            "the run was stopped. The usual cause is a learning rate too large for this lesson"
            + (f" (lr={lr:g}: try a tenth of it)" if lr is not None else "")
            + "; otherwise look for inf or NaN in the data. "
            + (f"The last good checkpoint is {last}." if last else "No checkpoint had been saved yet.")
        )

    def hand_lr(self) -> float | None:
        """The learning rate of a lesson that updates by hand (no optimizer for Lightning to hold)."""
        return None

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Dropout, D1/D2's training noise and other random layers draw from the global generators.
        checkpoint[RNG_KEY] = rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if RNG_KEY in checkpoint:
            restore_rng_states(checkpoint[RNG_KEY])
