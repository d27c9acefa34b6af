"""Pictures people look at: image grids, GIFs, charts, written as PNG/GIF and to TensorBoard.

`grids` (numpy + Pillow: sample grids, reconstruction rows, GIFs, atomic PNG writes) and `charts`
(matplotlib: line charts of a run's history, ablation bars, 2-D scatter plots). Every function
here returns a uint8 RGB array (or a PIL image / GIF bytes for notebooks). Imports only
`gan_jax.platform`. `charts` (and with it matplotlib) is imported on the first use of a chart,
so code that only tiles images does not pay for it.
"""

import importlib
from typing import Any

from gan_jax.pictures.grids import (
    gif,
    grid,
    image_grid,
    reconstruction_rows,
    save_png,
    to_uint8,
)

_CHARTS = ("bar_chart", "line_chart", "scatter_plot")

__all__ = [
    "bar_chart",
    "gif",
    "grid",
    "image_grid",
    "line_chart",
    "reconstruction_rows",
    "save_png",
    "scatter_plot",
    "to_uint8",
]


def __getattr__(name: str) -> Any:
    if name in _CHARTS:
        return getattr(importlib.import_module("gan_jax.pictures.charts"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
