"""grid25_pacgan: PacGAN's 2-D grid experiment (Lin et al. 2018, Table 1 and Appendix; the
authors' code fjxmlzn/PacGAN, `synthetic_data_experiments/2DGrid_GAN&PacGAN/config.py`), for
GAN and PacGAN2-4 via `model.pack`.

    python -m experiments.run --config=grid25_pacgan --workdir=runs/pac4 \
        --config.model.pack=4 --config.data.batch_size=400
    python -m experiments.ablate --config=grid25_pacgan:reduced --seeds=5 --jobs=2 \
        --workdir=runs/pacgan_grid25 \
        --sweep 'model.pack=1,2[data.batch_size=200],3[data.batch_size=300],4[data.batch_size=400]'

The paper's setup (the VEEGAN architecture): z ~ N(0, I₂); G has 4 hidden layers of 400 ReLU
units with BatchNorm and a linear output; D has 3 hidden LinearMaxout layers of 200 units with 5
pieces and one logit; weights N(0, 0.02); the standard (non-saturating) GAN loss; Adam(1e-4,
β1 = 0.8); 100 *packs* per batch (so PacGANm sees 100·m real and 100·m generated samples per
step: set `data.batch_size = 100·m`, as the sweep above does); 400 epochs over a fixed set of
100,000 samples = 400,000 steps; 10 runs; 2,500 samples scored (VEEGAN protocol).

What this config can express and what it changes (gan_jax's MLPs, see `gan_jax.models.mlp`):
G and D share `num_layers` = 4 (the paper's D has 3); G has no BatchNorm; D uses ReLU instead of
maxout; Flax's default (LeCun-normal) init; data is sampled fresh every step instead of from a
fixed 100k set. `train.num_steps` is the paper's 400k (≈ 4.5 h per PacGAN4 run on this
project's 2-core CPU); `grid25_pacgan:reduced` is the budget the reproduction in
docs/results.md ran with (see `ring8_pacgan.reduced`).
"""

from experiments.configs.ring8_pacgan import VARIANTS, pacgan_config
from gan_jax.config import apply_variant


def get_config(arg: str | None = None):
    return apply_variant(pacgan_config("grid25"), arg, VARIANTS)
