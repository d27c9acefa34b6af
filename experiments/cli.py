"""Helpers shared by the command-line entry points (no flags are defined here).

Config names: `--config=NAME[:ARG]` resolves to `experiments/configs/NAME.py[:ARG]`; paths pass
through. Renamed config fields (`gan_jax.config.RENAMED`) are rewritten to their new names with
a warning. User mistakes print one `error:` line and exit with status 2.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from absl import app, flags

from gan_jax.config import RENAMED
from gan_jax.errors import UserError

CONFIGS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")


def config_names() -> list[str]:
    return sorted(
        f[:-3] for f in os.listdir(CONFIGS_DIR) if f.endswith(".py") and not f.startswith("_")
    )


def resolve_config_path(value: str) -> str:
    """Map a bare config name (`ring8`, `celeba64:tiny`) to its file; leave paths alone."""
    name, sep, arg = value.partition(":")
    if name.endswith(".py") or os.sep in name:
        if not os.path.exists(name):
            raise UserError(f"config file {name!r} does not exist")
        return value
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


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parser, but a bad flag or config override is one `error:` line, exit status 2."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        fail(str(e).splitlines()[0], 2)
    except UserError as e:  # raised by a config file's get_config (e.g. an unknown variant)
        fail(str(e), 2)
    except (AttributeError, KeyError, TypeError, ValueError) as e:  # a bad --config.x=y
        overrides = [a for a in argv if a.startswith("--config.")]
        fail(
            f"invalid config override in {overrides}: no such field or bad value {e}; "
            "fields are defined in gan_jax/config.py",
            2,
        )


def run_app(main) -> None:
    """`app.run(main)` with config names resolved and flag errors reported as above."""
    try:
        argv = resolve_argv(sys.argv)
    except UserError as e:
        fail(str(e), 2)
    app.run(main, argv=argv, flags_parser=parse_flags)
