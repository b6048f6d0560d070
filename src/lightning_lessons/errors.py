"""The user's mistakes, as one family: every entry point prints them as `error: ...` and exits 2.
Anything else is a bug and keeps its traceback."""

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from lightning.fabric.utilities.exceptions import MisconfigurationException

T = TypeVar("T")
EXIT_CODE = 2  # what argparse and Hydra use for a bad command line


class UserError(Exception):
    """Something the user can fix: the message says what is wrong and what to do."""


class ConfigError(UserError, ValueError):
    """A config key, type, value or combination that cannot work."""


class DataError(UserError, RuntimeError):
    """Missing, truncated or corrupt data files, or splits that leave nothing to train on."""


class CheckpointError(UserError, ValueError):
    """A checkpoint that is missing, cannot be read, or is not one of this project's."""


class RunFolderError(UserError, FileNotFoundError):
    """A folder that is not a run folder, or a run that lacks what is asked of it."""


class ResumeError(UserError, ValueError):
    """Nothing to resume, or a resume that would lose or repeat work."""


class TrainingDiverged(UserError, RuntimeError):
    """The loss stopped being a finite number."""


def user_error(error: BaseException | None) -> BaseException | None:
    """The user's mistake behind an exception, following `__cause__` through wrappers (Hydra wraps
    what a constructor raises); None for a bug."""
    while error is not None:
        # Lightning's MisconfigurationException: Trainer settings this machine cannot honour (more
        # devices than it has, a strategy its accelerator lacks, ...).
        if isinstance(error, (UserError, MisconfigurationException)):
            return error
        error = error.__cause__
    return None


def fail(message: str) -> NoReturn:
    """Stop the command with the user's mistake, on one line for the reader (no traceback)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_CODE)


def run_or_explain(action: Callable[[], T]) -> T:
    """Run an entry point; a user's mistake ends it with `error: ...` and exit 2, a bug with its traceback."""
    try:
        return action()
    except Exception as error:
        mistake = user_error(error)
        if mistake is None:
            raise
        fail(str(mistake))
