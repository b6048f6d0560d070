"""A run's `train.log` holds what its console showed: prints, warnings, progress and the `error:` line.

Log records reach `train.log` through Hydra's own file handler (conf/hydra/default.yaml); this module
adds everything written to `sys.stdout` and `sys.stderr`, which no logging handler sees."""

import io
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


class Tee(io.TextIOBase):
    """A console stream that also appends to the run's log. It reports the console's `isatty`, so what
    prints differently on a terminal (the live progress bar) still can."""

    def __init__(self, console: TextIO, log: TextIO) -> None:
        self.console = console
        self.log = log

    def write(self, text: str) -> int:
        self.console.write(text)
        self.log.write(text)
        return len(text)

    def flush(self) -> None:
        self.console.flush()
        self.log.flush()

    def isatty(self) -> bool:
        return self.console.isatty()

    def fileno(self) -> int:
        return self.console.fileno()

    @property
    def encoding(self) -> str:
        return self.console.encoding


def console_and_log(stream: TextIO) -> tuple[TextIO, TextIO | None]:
    """Where a live display goes (the console alone) and where its plain lines go (the log alone)."""
    return (stream.console, stream.log) if isinstance(stream, Tee) else (stream, None)


@contextmanager
def console_recorded(log_path: Path, echo: bool = True) -> Iterator[None]:
    """Copy `sys.stdout` and `sys.stderr` into `log_path` while the block runs (with `echo=False`, send
    them there alone: a sweep's jobs each keep their console in their own folder). A bug's traceback
    goes there too; Python prints it to the console only after the block."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", buffering=1, encoding="utf-8") as log:
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = (Tee(stdout, log), Tee(stderr, log)) if echo else (log, log)
        try:
            yield
        except Exception as error:
            log.write("".join(traceback.format_exception(error)))
            raise
        finally:
            sys.stdout, sys.stderr = stdout, stderr
