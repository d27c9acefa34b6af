"""ring8: 8 Gaussians on the unit circle (σ = 0.01), the VEEGAN/PacGAN mode-collapse benchmark.

    python -m experiments.run --config=ring8 --workdir=runs/ring8
    python -m experiments.run --config=ring8 --workdir=runs/ring8_ra --config.loss=ralsgan

G and D are 3×256 ReLU MLPs, z ∈ R², batch 256, Adam(1e-4, β1=0.5) with the learning rate
decayed linearly to 0 (σ = 0.01 punishes late jitter), 1,000 steps per dispatch. Writes a
scatter plot per 5k steps and `metrics.json` with `modes`, `hq_fraction`, `reverse_kl`.
"""

from gan_jax.config import apply_variant, base_config


def mixture_config(source: str):
    """Shared by ring8 and grid25."""
    c = base_config()
    c.data.source = source
    c.data.batch_size = 256
    c.model.name = "mlp"
    c.model.latent_dim = 2
    c.model.g_width = 256
    c.model.d_width = 256
    c.model.num_layers = 3
    c.model.activation = "relu"
    c.model.output = "linear"
    for opt in (c.g_optimizer, c.d_optimizer):
        opt.lr = 1e-4
        opt.schedule = "linear"
    c.train.num_steps = 20_000
    c.train.steps_per_dispatch = 1000
    c.train.log_every = 1000
    c.train.sample_every = 5000
    c.train.checkpoint_every = 5000
    return c


def get_config(arg: str | None = None):
    return apply_variant(mixture_config("ring8"), arg)
