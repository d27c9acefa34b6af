"""The generator export: the written contract between a task and `gan_jax.load`.

Every task says, once, where its sampler's weights are in its checkpoints
(`Task.generator_export()`): the state entry holding G's parameters (its EMA when the run keeps
one), the entry holding G's BatchNorm statistics (None when G has none), and the folder of the
run that holds those checkpoints ('' = the run itself; an encoder run keeps a frozen copy of
its generator in `generator/`). The run writes it into `model.json` as
`{"generator": {"params": ..., "batch_stats": ..., "folder": ...}}`, and `gan_jax.load` reads
exactly those entries, so a new task's state may name its fields as it likes.

Runs written before the contract have no such entry: they followed one naming convention
(`g_ema_params` when not empty, else `g_params`, and `g_batch_stats`), which `for_run` returns.
"""

from __future__ import annotations

import dataclasses
from typing import Any

LEGACY_EMA, LEGACY_PARAMS, LEGACY_STATS = "g_ema_params", "g_params", "g_batch_stats"


@dataclasses.dataclass(frozen=True)
class GeneratorExport:
    """Where a run's sampler lives (see the module docstring)."""

    params: str
    batch_stats: str | None = None
    folder: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def entries(self) -> list[str]:
        """The checkpoint entries `gan_jax.load` reads."""
        return ["step", self.params, *([self.batch_stats] if self.batch_stats else [])]


def for_run(model: dict[str, Any], tree: dict[str, Any] | None = None) -> GeneratorExport:
    """The export recorded in a run's `model.json`; for runs written before the contract, the
    convention they followed, read off the checkpoint's tree of entries `tree`."""
    if "generator" in model:
        return GeneratorExport(**model["generator"])
    ema = bool(tree and tree.get(LEGACY_EMA))
    return GeneratorExport(LEGACY_EMA if ema else LEGACY_PARAMS, LEGACY_STATS)
