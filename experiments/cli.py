"""Helpers shared by the command-line entry points (no flags are defined here).

Config names: `--config=NAME[:ARG]` resolves to `experiments/configs/NAME.py[:ARG]`; paths pass
through. Renamed config fields (`gan_jax.config.RENAMED`) are rewritten to their new names with
a warning. Every failure is one `error:` line on stderr, without a traceback, and an exit
status from `gan_jax.errors` (`exit_on_errors`): 0 done, 1 diverged, 2 user error, 3
environment/I-O fault (retryable), 130/143 interrupted by SIGINT/SIGTERM (retryable).
"""

from __future__ import annotations

import contextlib
import logging as logging_std
import os
import sys
from collections.abc import Iterator
from typing import NoReturn

from absl import app, flags, logging

from gan_jax.config import RENAMED
from gan_jax.errors import (
    EXIT_DIVERGED,
    EXIT_ENVIRONMENT,
    EXIT_USER_ERROR,
    Interrupted,
    RunFault,
    TrainingDiverged,
    UserError,
)
from gan_jax.platform import configure_cpu

CONFIGS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


def config_names() -> list[str]:
    return sorted(
        f[:-3] for f in os.listdir(CONFIGS_DIR) if f.endswith(".py") and not f.startswith("_")
    )


def resolve_config_path(value: str) -> str:
    """Map a bare config name (`ring8`, `celeba64:tiny`) to its file; leave paths alone."""
    name, sep, arg = value.partition(":")
    if name.endswith(".py") or os.sep in name:
        path = os.path.expanduser(name)
        if not os.path.exists(path):
            raise UserError(f"config file {name!r} does not exist")
        return path + sep + arg
    path = os.path.join(CONFIGS_DIR, f"{name}.py")
    if not os.path.exists(path):
        raise UserError(f"unknown config {name!r}; choose one of: {', '.join(config_names())}")
    return path + sep + arg


def renamed_override(token: str) -> str:
    """`--config.OLD=V` -> `--config.NEW=V` for a renamed field (`gan_jax.config.RENAMED`),
    with a warning on stderr; other tokens unchanged."""
    name, sep, value = token.partition("=")
    old = name.removeprefix("--config.")
    if not name.startswith("--config.") or old not in RENAMED:
        return token
    new = RENAMED[old]
    print(
        f"warning: --config.{old} is now --config.{new}; the old name goes in the next release",
        file=sys.stderr,
    )
    return f"--config.{new}{sep}{value}"


def resolve_argv(argv: list[str]) -> list[str]:
    """Rewrite `--config=NAME` / `--config NAME` in argv to the config file's path, and renamed
    config fields to their new names."""
    out = [renamed_override(token) for token in argv]
    for i, token in enumerate(out):
        if token.startswith("--config="):
            out[i] = "--config=" + resolve_config_path(token.split("=", 1)[1])
        elif token == "--config" and i + 1 < len(out):
            out[i + 1] = resolve_config_path(out[i + 1])
    return out


def fail(message: str, code: int) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


@contextlib.contextmanager
def exit_on_errors(what: str = "the run") -> Iterator[None]:
    """Turn the errors a command can meet into one stderr line and its exit status (module
    docstring); anything else is a bug and keeps its traceback."""
    try:
        yield
    except Interrupted as e:
        print(str(e), file=sys.stderr, flush=True)
        sys.exit(e.exit_code)
    except UserError as e:
        fail(str(e), EXIT_USER_ERROR)
    except TrainingDiverged as e:
        fail(str(e), EXIT_DIVERGED)
    except RunFault as e:
        fail(str(e), EXIT_ENVIRONMENT)
    except OSError as e:
        from gan_jax.platform.files import os_error_line

        fail(os_error_line(e, what), EXIT_ENVIRONMENT)


def override_message(e: BaseException) -> str:
    """A failed override's reason as one line. ml_collections raises an AttributeError made
    from the str() of a KeyError (a repr: quotes escaped, `\\n` shown), so the KeyError it
    came from is read instead: `no field 'batchsize'; Did you mean "batch_size" ...?`."""
    key_error = e
    while key_error is not None and not isinstance(key_error, KeyError):
        key_error = key_error.__context__
    if key_error is None or not key_error.args:
        return " ".join(str(e).split())
    name, *hint = str(key_error.args[0]).splitlines()
    return "; ".join([f"no field {name}", *(h.strip() for h in hint if h.strip())])


def parse_flags(argv: list[str], flag_values: flags.FlagValues | None = None) -> list[str]:
    """absl's parser (on `flag_values`, default the global flags), but a bad flag, config file
    or config override is one `error:` line, exit status 2."""
    overrides = [a for a in argv if a.startswith("--config.")]
    try:
        return (flag_values or flags.FLAGS)(argv)
    except flags.Error as e:
        fail(str(e).splitlines()[0], 2)
    except UserError as e:  # raised by a config file's get_config (e.g. an unknown variant)
        fail(str(e), 2)
    except SyntaxError as e:  # the config file itself
        fail(f"config file {e.filename} line {e.lineno}: {e.msg}; fix the file", 2)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        if not overrides:  # the config file's get_config failed
            fail(f"the config file failed: {type(e).__name__}: {' '.join(str(e).split())}", 2)
        # A field the config's task does not read (so its config lacks it): say so and what to
        # use instead, from the config file's config (read again: the failed parse keeps none).
        path = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
        if path is None and "--config" in argv[:-1]:
            path = argv[argv.index("--config") + 1]
        if path:
            from ml_collections.config_flags.config_flags import ConfigFileFlagParser

            from gan_jax.tasks.reads import unread_override

            try:
                config = ConfigFileFlagParser("config").parse(path)
            except (AttributeError, KeyError, TypeError, ValueError, UserError):
                config = None  # the config file itself failed: the generic line below
            line = None if config is None else unread_override(config, overrides)
            if line is not None:
                fail(line, 2)
        fail(
            f"invalid config override in {' '.join(overrides)}: {override_message(e)}; fields "
            "are defined in gan_jax/config.py (docs/configs.md)",
            2,
        )


class _Console(logging_std.Filter):
    """The default console: gan_jax's own lines, clu's per-interval metric and progress lines,
    and every warning; other libraries' INFO lines (JAX backends, orbax, TensorFlow) are dropped,
    and their warnings and errors keep their message but not their traceback (the command's own
    `error:` line explains the failure; `--verbosity=1` shows everything).
    """

    _OWN = (f"{os.sep}gan_jax{os.sep}", f"{os.sep}experiments{os.sep}")
    _NOISE = ("steps_per_sec=", "uptime=", "Got images:", "[Hyperparameters]")

    def filter(self, record: logging_std.LogRecord) -> bool:
        own = any(p in record.pathname for p in self._OWN)
        if record.exc_info and not own:  # e.g. orbax logging a full disk: our error line says it
            record.exc_info, record.exc_text = None, None
        if record.levelno >= logging_std.WARNING or own:
            return True
        message = record.getMessage()
        if record.pathname.endswith(f"clu{os.sep}metric_writers{os.sep}logging_writer.py"):
            return not any(n in message for n in self._NOISE)
        if message.startswith("Setting work unit notes: "):  # clu's ReportProgress
            record.msg, record.args = message.removeprefix("Setting work unit notes: "), ()
            return True
        return False


def configure_console() -> None:
    """Unless `--verbosity` >= 1: `HH:MM:SS message` lines (no absl prefix) and no library INFO
    noise (see `_Console`). `--verbosity=1` keeps absl's full format and every library's lines."""
    if flags.FLAGS.verbosity >= 1:
        return
    handler = logging.get_absl_handler()
    handler.setFormatter(logging_std.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    handler.addFilter(_Console())


def apply_cpu_flags() -> list[str]:
    """gan_jax's XLA:CPU flags for this command's process (`gan_jax.platform.configure_cpu`:
    faster convolutions and FID on CPU; `GAN_JAX_XLA_DEFAULTS=1` and flags already in
    `XLA_FLAGS` win); returns those added. Every entry point calls it first, before anything
    starts a JAX backend, because `import gan_jax` leaves `XLA_FLAGS` alone."""
    return configure_cpu()


def run_app(main) -> None:
    """`app.run(main)` with gan_jax's XLA:CPU flags applied first (`apply_cpu_flags`; one log
    line names those added), config names resolved, flag errors reported as above and the
    console configured (`configure_console`)."""
    added = apply_cpu_flags()
    try:
        argv = resolve_argv(sys.argv)
    except UserError as e:
        fail(str(e), 2)

    def main_with_console(args: list[str]) -> None:
        configure_console()
        if added:
            logging.info(
                "XLA:CPU flags added: %s (GAN_JAX_XLA_DEFAULTS=1 opts out)", " ".join(added)
            )
        main(args)

    app.run(main_with_console, argv=argv, flags_parser=parse_flags)
