"""Pictures people look at: image grids, GIFs, charts, written as PNG/GIF and to TensorBoard.

`grids` (numpy + Pillow: sample grids, reconstruction rows, GIFs, atomic PNG writes) and `charts`
(matplotlib: line charts of a run's history, ablation bars, 2-D scatter plots). Every function
here returns a uint8 RGB array (or a PIL image / GIF bytes for notebooks). Imports only
`gan_jax.platform`. `charts` (and with it matplotlib) is imported on the first use of a chart,
so code that only tiles images does not pay for it.
"""

import importlib
import math
from typing import Any

from gan_jax.pictures.grids import (
    gif,
    grid,
    image_grid,
    reconstruction_rows,
    save_png,
    to_uint8,
    write_picture,
)

_CHARTS = ("bar_chart", "line_chart", "scatter_plot")
# The BCE losses where D cannot tell real from fake (D = 1/2 everywhere, Goodfellow et al. 2014):
# each cross-entropy term is log 2 = 0.693 (G's loss; DIGITS' and Keras' D loss, which average the
# real and fake terms), and gan_jax's D loss, their sum, is 2 log 2. DIGITS' walkthrough reads its
# loss curves against 0.69. A `line_chart` panel option: {"hline": BCE_GUIDES}.
BCE_GUIDES = (math.log(2), 2 * math.log(2))

__all__ = [
    "BCE_GUIDES",
    "bar_chart",
    "gif",
    "grid",
    "image_grid",
    "line_chart",
    "reconstruction_rows",
    "save_png",
    "write_picture",
    "scatter_plot",
    "to_uint8",
]


def __getattr__(name: str) -> Any:
    if name in _CHARTS:
        return getattr(importlib.import_module("gan_jax.pictures.charts"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
