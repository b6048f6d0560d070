"""A real `kill -9` at a known point of a run, for the resume tests."""

from __future__ import annotations

import os
import signal

import lightning as L


class KillAtStep(L.Callback):
    """SIGKILLs its own process at the first step end with at least `$KILL_AT_STEP` optimizer steps done
    (a full-batch step holds several), when that is set: the resumed run (started without it) goes on to
    the end."""

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        wanted = os.environ.get("KILL_AT_STEP")
        if wanted and trainer.global_step >= int(wanted):  # a step may hold several updates
            os.kill(os.getpid(), signal.SIGKILL)
