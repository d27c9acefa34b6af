"""faces_vae: the faces post's plain VAE on LFW ("the images clearly contain faces, [but] they
are somewhat boring because of their smoothness"). Decoder = the post's generator
(`model.name='faces'`); encoder = its discriminator's conv body (the post publishes no encoder)
with a dense head to (μ, log σ²); loss = KL + Σ (x − x̃)² / 2σ², σ = 0.5. Data as `faces_gan`.

    python -m experiments.run --config=faces_vae --workdir=runs/faces_vae \
        --config.data.source=folder:PATH/lfw-deepfunneled
"""

from experiments.configs.faces_gan import faces_data
from experiments.configs.faces_gan import tiny as faces_tiny
from gan_jax.config import apply_variant, drop
from gan_jax.vae.config import not_read, vae_config
from gan_jax.vae.config import tiny as vae_tiny


def faces_vae_config(gan: bool):
    """Shared by `faces_vae` and `faces_vaegan`: the same networks and budget."""
    # faces_data sets D's dropout, which a plain VAE (its encoder has none) does not read.
    c = drop(faces_data(vae_config(gan)), not_read(gan))
    for net in ("e_optimizer", "g_optimizer", "d_optimizer"):
        if net in c:  # a plain VAE has no D (no d_optimizer)
            c[net].lr, c[net].b1 = 3e-4, 0.5
    c.train.num_steps = 20_000
    c.train.sample_every = 1000
    return c


def tiny(c):
    """`faces_gan`'s `:tiny` (32×32) without the fields VAE runs do not read."""
    return vae_tiny(faces_tiny(c))


def get_config(arg: str | None = None):
    return apply_variant(faces_vae_config(gan=False), arg, {"tiny": tiny})
