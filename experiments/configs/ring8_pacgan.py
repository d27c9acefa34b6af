"""ring8_pacgan: PacGAN's 2-D ring experiment (Lin et al. 2018, Table 1 and Appendix; the
authors' code fjxmlzn/PacGAN, `synthetic_data_experiments/2DRing_GAN&PacGAN/config.py`), for
GAN and PacGAN2-4 via `model.pack`.

    python -m experiments.ablate --config=ring8_pacgan:reduced --seeds=5 --jobs=2 \
        --workdir=runs/pacgan_ring8 \
        --sweep 'model.pack=1,2[data.batch_size=200],3[data.batch_size=300],4[data.batch_size=400]'

The same networks, optimizer, batch (100 packs, `data.batch_size = 100·m`) and budget (400
epochs of 100,000 samples = 400,000 steps) as `grid25_pacgan`, whose docstring lists the paper's
settings and what gan_jax's MLPs change; the data is 8 Gaussians on the unit circle, σ = 0.01.
`ring8_pacgan:reduced` is the budget measured on this project's CPU (`reduced` below).
"""

from gan_jax.config import apply_variant, base_config


def pacgan_config(source: str):
    """The PacGAN paper's 2-D setup on `source` (shared by ring8_pacgan and grid25_pacgan)."""
    c = base_config()
    c.data.source = source
    c.data.batch_size = 100  # packs per step; PacGANm: 100·m
    c.model.name = "mlp"
    c.model.latent_dim = 2
    c.model.g_width = 400
    c.model.d_width = 200
    c.model.num_layers = 4
    c.model.activation = "relu"
    c.model.output = "linear"
    c.loss = "bce"
    for opt in (c.g_optimizer, c.d_optimizer):
        opt.lr = 1e-4
        opt.b1 = 0.8
    c.train.num_steps = 400_000
    c.train.steps_per_dispatch = 1000
    c.train.log_every = 1000
    c.train.sample_every = 10_000
    c.train.checkpoint_every = 10_000
    return c


def reduced(c) -> None:
    """The budget this project's 2-core CPU affords (docs/results.md): `grid25`'s networks and
    optimizer (3×256 ReLU MLPs for both, Adam 5e-4, β1 = 0.5, decayed linearly to 0), 20k steps;
    the batch stays 100 packs."""
    c.model.g_width = c.model.d_width = 256
    c.model.num_layers = 3
    for opt in (c.g_optimizer, c.d_optimizer):
        opt.lr, opt.b1, opt.schedule = 5e-4, 0.5, "linear"
    c.train.num_steps = 20_000
    c.train.sample_every = c.train.checkpoint_every = 5000


VARIANTS = {"reduced": reduced}


def get_config(arg: str | None = None):
    return apply_variant(pacgan_config("ring8"), arg, VARIANTS)
