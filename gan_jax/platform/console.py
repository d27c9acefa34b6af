"""Progress bars for long host-side work (feature extraction, classifier training).

A `tqdm` bar (the maintained standard; it comes with tensorflow-datasets) on stderr, shown only
when stderr is a terminal so logs and CI output stay clean. Training itself reports progress
through clu's `ReportProgress` in `gan_jax.training.loop`.
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(total: int, desc: str, unit: str) -> tqdm:
    """A bar counting `total` `unit`s of the work called `desc`; `update(n)` adds n."""
    return tqdm(
        total=total,
        desc=desc,
        unit=f" {unit}",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
        dynamic_ncols=True,
    )
