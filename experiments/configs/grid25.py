"""grid25: 25 Gaussians on the {−4,−2,0,2,4}² grid (σ = 0.05), the VEEGAN/PacGAN benchmark.

    python -m experiments.run --config=grid25 --workdir=runs/grid25

Same networks and optimizer as `ring8` (see that file); metrics.json reports `modes` out of 25.
"""

from experiments.configs.ring8 import mixture_config
from gan_jax.config import apply_variant


def get_config(arg: str | None = None):
    return apply_variant(mixture_config("grid25"), arg)
