"""Exceptions that separate user mistakes from bugs.

`UserError` and its subclasses carry a one-line message that names the bad value and the fix;
the command-line entry points print that line and exit with status 2, without a traceback.
"""


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


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the network."""
