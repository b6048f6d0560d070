"""A base for callbacks that work at fit start, validation or fit end, never at a training step."""

from __future__ import annotations

import lightning as L

# Hooks Lightning calls at every training step or one-step epoch, each through a profiler context.
TRAINING_HOOKS = (
    "on_train_batch_start",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_train_batch_end",
    "on_train_epoch_start",
    "on_train_epoch_end",
)


class StepFreeCallback(L.Callback):
    """A callback that costs nothing while training steps run.

    Lightning calls every hook of every callback, overridden or not, each inside a profiler context:
    four such callbacks added 0.12 ms (7%) to a 1.6 ms step of R2. It skips a hook that is not
    callable, so the training hooks a subclass leaves alone are set to None on the instance.
    """

    def __init__(self) -> None:
        for name in TRAINING_HOOKS:
            if getattr(type(self), name) is getattr(L.Callback, name):
                setattr(self, name, None)
