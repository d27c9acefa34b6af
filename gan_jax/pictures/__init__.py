"""Pictures people look at: image grids, GIFs, charts, written as PNG/GIF and to TensorBoard.

`grids` (numpy + Pillow: sample grids, reconstruction rows, GIFs, atomic PNG writes) and `charts`
(line charts of a run's history, ablation bars, 2-D scatter plots). Every function here returns
a uint8 RGB array (or a PIL image / GIF bytes for notebooks). Imports only `gan_jax.platform`.
"""

from gan_jax.pictures.charts import bar_chart, line_chart
from gan_jax.pictures.grids import (
    gif,
    grid,
    image_grid,
    reconstruction_rows,
    save_png,
    scatter_plot,
    to_uint8,
)

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
