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

What this config sets and what still differs (gan_jax's MLP, see `gan_jax.models.mlp`): the
networks are the paper's (`model.num_layers=4` with `g_batchnorm`, `d_num_layers=3` with
`d_maxout=5`, `init='normal_0.02'`). Data is sampled fresh every step instead of drawn from a
fixed 100k set; G makes a step's 100·m samples in one call, so its BatchNorm statistics are over
100·m samples (the authors call G once per pack position, 100 samples each); the running
statistics for sampling use DCGAN G's BatchNorm settings (momentum 0.9, ε 1e-5; the authors
average with 0.95). `train.num_steps` is the paper's 400k (hours per PacGAN4 run on this
project's 2-core CPU). Variants (see `ring8_pacgan`): `reduced` is the budget the reproduction in
docs/results.md ran with (grid25's 3×256 ReLU networks, Adam 5e-4, 20k steps); `short` = the
paper's networks and optimizer for 20k steps; `short_decay` = the paper's networks with
`reduced`'s optimizer for 20k steps.
"""

from experiments.configs.ring8_pacgan import VARIANTS, pacgan_config
from gan_jax.config import apply_variant


def get_config(arg: str | None = None):
    return apply_variant(pacgan_config("grid25"), arg, VARIANTS)
