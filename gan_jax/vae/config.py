"""The VAE task's config schema (`config.task = 'vae'`): a GAN config plus the `vae` block and
the encoder's optimizer, and its checks.

The decoder is the GAN config's generator (`model`, `g_optimizer`), the discriminator of a
VAE/GAN its discriminator (`d_optimizer`, `loss`, `stabilizers`), so `--config.model.*` and
the rest mean what they mean for a GAN, and the run folder is read back by `gan_jax.load` and
`experiments.evaluate` like a GAN run's.
"""

from __future__ import annotations

import ml_collections

from gan_jax.config import VAE_TASK, base_config, choice, optimizer_config, positive
from gan_jax.core import optim
from gan_jax.errors import ConfigError

TASK = VAE_TASK
RECON_SPACES = ("pixel", "features")


def vae_config(gan: bool) -> ml_collections.ConfigDict:
    """Defaults shared by the VAE (`gan=False`) and VAE/GAN configs in `experiments/configs`."""
    c = base_config()
    c.task = TASK
    c.vae = ml_collections.ConfigDict(
        {
            "gan": gan,  # False: a plain VAE (no discriminator)
            # Reconstruction error: pixel (Σ (x − x̃)² / 2σ², the post's) | features (½ Σ of
            # squared differences of D's last hidden layer, Larsen et al. 2016; VAE/GAN only).
            "recon": "pixel",
            "pixel_sigma": 0.5,  # σ of the pixel likelihood: its weight against the KL term
            # Weight of the reconstruction gradient in the decoder's update (Larsen's γ):
            # ∇G = γ ∇G L_recon + ∇G L_GAN. Ignored by a plain VAE.
            "gamma": 0.01,
        }
    )
    c.e_optimizer = optimizer_config(lr=2e-4, b1=0.5)
    c.stabilizers.d_batchnorm = False  # BN makes D too strong (the post); the encoder mirrors D
    c.stabilizers.skip_margin = 0.3 if gan else 0.0  # the post's margin rule on the GAN term
    return c


def validate(config: ml_collections.ConfigDict) -> None:
    """Raise ConfigError (naming the field and the fix) for values of the VAE-only fields."""
    v = config.vae
    choice(v.recon, RECON_SPACES, "vae.recon")
    if v.recon == "features" and not v.gan:
        raise ConfigError(
            "config.vae.recon='features' needs a discriminator; set --config.vae.gan=True or "
            "--config.vae.recon=pixel"
        )
    positive(v.pixel_sigma, "vae.pixel_sigma")
    positive(v.gamma, "vae.gamma")
    optim.validate(config.e_optimizer, "e_optimizer")
    if config.evals.every:
        raise ConfigError(
            f"config.evals.every={config.evals.every}: VAE runs are evaluated after training, "
            "with python -m experiments.evaluate --workdir=W; set --config.evals.every=0"
        )
    if config.parallel != "sharded":
        raise ConfigError(
            f"config.parallel={config.parallel!r}: VAE runs use 'sharded'; set "
            "--config.parallel=sharded"
        )
    if config.model.num_classes:
        raise ConfigError(
            f"config.model.num_classes={config.model.num_classes}: VAE decoders are "
            "unconditional; set --config.model.num_classes=0"
        )
