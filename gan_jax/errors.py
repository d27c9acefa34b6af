"""Exceptions that separate user mistakes, environment faults and interruptions from bugs, and
the exit status each one gets from the command-line entry points.

`UserError` and its subclasses carry a one-line message that names the bad value and the fix;
the entry points print that line and exit with status 2, without a traceback. `RunFault` is an
environment or I/O fault (read-only or full disk, a lock held by another process is a user
error instead): one line, status 3, worth retrying. `Interrupted` is a SIGTERM/SIGINT that the
training loop turned into a saved checkpoint: status 128 + the signal (143, 130), as shells and
schedulers expect.
"""

from typing import Any

EXIT_DIVERGED = 1
EXIT_USER_ERROR = 2
EXIT_ENVIRONMENT = 3  # like 130/143 (Interrupted.exit_code), retried by `launch/*.sh`


class UserError(Exception):
    """A mistake in the user's input (config, flags, data); message is one line with the fix."""


class ConfigError(UserError):
    """A config value is invalid or inconsistent."""


class DataError(UserError):
    """A data source is missing, unreadable or inconsistent with the config."""


class CheckpointError(UserError):
    """A run directory or checkpoint is missing, incomplete or does not fit the request."""


class InputError(UserError, ValueError):
    """A bad argument to a library function (also a ValueError, so notebooks can catch it as
    one); the command-line tools print it as a one-line error."""


class WorkdirLocked(UserError):
    """Another live process is training in the same workdir; the message names it."""


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the network."""


class RunFault(Exception):
    """The environment failed the run (disk full, read-only folder, I/O error): one line naming
    the path and what to do; retryable once fixed, because the run resumes where it stopped."""


class Interrupted(Exception):
    """SIGTERM/SIGINT stopped training after a checkpoint at `step` was saved."""

    def __init__(self, step: int, signum: int) -> None:
        super().__init__(
            f"interrupted at step {step}; checkpoint saved; rerun the same command to resume"
        )
        self.step, self.signum = step, signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


# The phrasing of config errors, shared by every block's checks (`gan_jax.config` re-exports them).
def choice(value: Any, choices: tuple[Any, ...], field: str) -> None:
    """ConfigError unless `value` is one of `choices` (`field` is the dotted config name)."""
    if value not in choices:
        raise ConfigError(
            f"config.{field}={value!r} is not valid; choose one of: {', '.join(map(str, choices))}"
        )


def positive(value: int | float, field: str) -> None:
    """ConfigError unless `value` > 0."""
    if value <= 0:
        raise ConfigError(f"config.{field}={value} must be > 0")


def non_negative(value: int | float, field: str, meaning: str = "") -> None:
    """ConfigError unless `value` >= 0; `meaning` explains what 0 does."""
    if value < 0:
        raise ConfigError(
            f"config.{field}={value} must be >= 0{f' ({meaning})' if meaning else ''}"
        )
