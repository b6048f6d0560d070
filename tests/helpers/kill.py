"""A real `kill` at a known point of a run, for the resume and signal tests."""

import os
import signal

import lightning as L


class KillAtStep(L.Callback):
    """Sends its own process `$KILL_SIGNAL` (SIGKILL unless set) at the first step end with at least
    `$KILL_AT_STEP` optimizer steps done, when that is set: the resumed run (started without it) goes
    on to the end."""

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        wanted = os.environ.get("KILL_AT_STEP")
        if wanted and trainer.global_step >= int(wanted):  # a step may hold several updates
            os.environ.pop("KILL_AT_STEP")  # once: Lightning finishes the step after SIGTERM
            # $KILL_PARENT: the process that started this one (ddp_fork's main process) instead.
            target = os.getppid() if os.environ.get("KILL_PARENT") else os.getpid()
            os.kill(target, signal.Signals[os.environ.get("KILL_SIGNAL", "SIGKILL")])
