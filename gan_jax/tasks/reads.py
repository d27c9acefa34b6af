"""The fields of the shared schema a task does not read, and what happens to them.

A task whose config starts from `gan_jax.config.base_config()` but ignores some of its fields
declares them (`TaskBase.not_read(config)`): dotted field names or whole blocks, each with a
hint saying what to use instead. So that no field is ever silently ignored:

* the task's config builder removes them (`gan_jax.config.drop`): its config is its schema, and the
  config.json a run writes shows only what the run reads;
* an override of one (`--config.stabilizers.ema_decay=0.999` on a ProGAN config) fails at
  parse with `unread_override`'s one line, which names the task and the hint;
* an older run's config.json, written before they were removed, has them removed when it is
  read back (`gan_jax.runs.run_files.recorded_config`, by the table the task's config module
  registers with `gan_jax.config.register_unread`), so it resumes without a "Config changed"
  warning for each, loads and evaluates as before.

Fields that only mean something when a switch is on (`stabilizers.l2_*` without
`adaptive_l2`, an optimizer's `decay` for adam) stay in the schema: the block's `validate`
refuses a non-default value while the switch is off.
"""

from __future__ import annotations

from typing import Any

import ml_collections

from gan_jax.config import NotRead, drop, locate
from gan_jax.errors import ConfigError

__all__ = [
    "NotRead",
    "check_absent",
    "drop",
    "hint_for",
    "not_read",
    "unread_line",
    "unread_override",
]


def hint_for(fields: NotRead, name: str) -> str | None:
    """The hint of `name` (`stabilizers.ema_decay`) or of the nearest block holding it."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        hint = fields.get(".".join(parts[:n]))
        if hint is not None:
            return hint
    return None


def not_read(config: Any) -> NotRead:
    """What the task of `config` (a ConfigDict or a config.json dict) does not read; {} for a
    task this process does not know (a user's, unregistered here)."""
    from gan_jax import tasks

    try:
        task_class = tasks.task_class(config.get("task"))
    except ConfigError:
        return {}
    return task_class.not_read(config)


def unread_line(task: str | None, name: str, value: Any, hint: str) -> str:
    """The one-line refusal of field `name` (set to `value`; None: a whole block) on a config
    of `task`."""
    field = f"config.{name}" if value is None else f"config.{name}={value}"
    return f"{field}: {task or 'GAN'} runs do not read it ({hint}); remove it"


def check_absent(config: ml_collections.ConfigDict, fields: NotRead) -> None:
    """ConfigError naming the first of `fields` that `config` has (a config file that built
    the task's config by hand from `base_config()` rather than with the task's builder)."""
    for name, hint in fields.items():
        node, leaf = locate(config, name)
        if node is not None and leaf in node:
            value = node[leaf]
            shown = None if isinstance(value, ml_collections.ConfigDict) else value
            raise ConfigError(unread_line(config.get("task"), name, shown, hint))


def unread_override(config: ml_collections.ConfigDict, overrides: list[str]) -> str | None:
    """The refusal of the first `--config.FIELD=VALUE` of `overrides` that names a field the
    task of `config` does not read (so its config lacks it); None when there is none."""
    fields = not_read(config)
    for token in overrides:
        name, _, value = token.removeprefix("--config.").partition("=")
        node, leaf = locate(config, name)
        if node is not None and leaf in node:
            continue
        hint = hint_for(fields, name)
        if hint is not None:
            return unread_line(config.get("task"), name, value, hint)
    return None
