"""grid25: 25 Gaussians on the {−4,−2,0,2,4}² grid (σ = 0.05), the VEEGAN/PacGAN benchmark.

    python -m experiments.run --config=grid25 --workdir=runs/grid25

Same networks as `ring8` (see that file) with Adam at 5e-4: the grid spans ±4, and at ring8's
1e-4 the generator is still spreading mass between modes after 20k steps (HQ ≈ 13%). With bce
this reproduces the plain-GAN behaviour PacGAN reports (17.3 modes, 94.8% HQ): most modes, high
quality, some collapse. metrics.json reports `modes` out of 25.
"""

from experiments.configs.ring8 import mixture_config
from gan_jax.config import apply_variant


def get_config(arg: str | None = None):
    c = mixture_config("grid25")
    c.g_optimizer.lr = 5e-4
    c.d_optimizer.lr = 5e-4
    return apply_variant(c, arg)
