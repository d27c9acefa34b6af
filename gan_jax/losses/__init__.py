"""GAN losses: a registry of discriminator/generator objective pairs.

    import gan_jax.losses as losses
    loss = losses.get("bce_smoothed", real_label=0.9)
    d_loss = loss.discriminator_loss(real_logits, fake_logits)
    g_loss = loss.generator_loss(real_logits, fake_logits)  # real_logits may be None unless
                                                            # loss.needs_real_for_generator

Each family lives in its own module and registers its classes on import; importing them here
makes every loss available through `get` and `names`.
"""

from gan_jax.losses import hinge, least_squares, relativistic, standard, wasserstein
from gan_jax.losses.base import GANLoss, flatten_logits, get, names, register

__all__ = [
    "GANLoss",
    "flatten_logits",
    "get",
    "hinge",
    "least_squares",
    "names",
    "register",
    "relativistic",
    "standard",
    "wasserstein",
]
