"""The VAE task's config schema (`config.task = 'vae'`): a GAN config plus the `vae` block and
the encoder's optimizer, and its checks.

The decoder is the GAN config's generator (`model`, `g_optimizer`), the discriminator of a
VAE/GAN its discriminator (`d_optimizer`, `loss`, `stabilizers`), so `--config.model.*` and
the rest mean what they mean for a GAN, and the run folder is read back by `gan_jax.load` and
`experiments.evaluate` like a GAN run's. The GAN fields a VAE run does not read (`not_read`:
augmentation, EMA, regularizers, extra updates, periodic evaluations; for a plain VAE also D's
loss, optimizer and stabilizers) are removed, so the config is the schema
(`gan_jax.tasks.reads`).
"""

from __future__ import annotations

import ml_collections

from gan_jax.config import (
    VAE_TASK,
    base_config,
    choice,
    drop,
    optimizer_config,
    positive,
    register_unread,
)
from gan_jax.config import tiny as base_tiny
from gan_jax.core import optim
from gan_jax.errors import ConfigError

TASK = VAE_TASK
RECON_SPACES = ("pixel", "features")

_ONE_UPDATE = "a VAE step is one update of each network"
_NO_D_TERMS = "the VAE/GAN's D and G have no penalty terms"
_NO_BALANCE = "the VAE/GAN balances its GAN term with stabilizers.skip_margin"
_NO_D = "a plain VAE has no discriminator; mnist_vaegan and faces_vaegan have one"
NOT_READ = {  # by every VAE run
    "augment": "VAE runs train without augmentation",
    "train.n_critic": _ONE_UPDATE,
    "train.n_gen": _ONE_UPDATE,
    "stabilizers.ema_decay": "VAE runs keep no weight average",
    **{
        f"stabilizers.{f}": _NO_D_TERMS
        for p in ("", "g_")
        for f in (f"{p}regularizer", f"{p}regularizer_weight", f"{p}regularizer_interval")
    },
    **{
        f"stabilizers.{f}": _NO_BALANCE
        for f in ("adaptive_l2", "l2_band_low", "l2_band_high", "l2_step", "l2_max")
    },
    "evals.every": "VAE runs are scored after training: python -m experiments.evaluate",
    "evals.best_metric": "it needs periodic evaluations, which VAE runs do not have",
    "parallel": "VAE runs use the 'sharded' placement",
}
PLAIN_NOT_READ = {  # by a plain VAE (vae.gan=False) too
    "loss": _NO_D,
    "loss_options": _NO_D,
    "d_optimizer": _NO_D,
    "stabilizers.skip_margin": _NO_D,
    "stabilizers.skip_rule": _NO_D,
    "stabilizers.d_dropout": f"the encoder has no dropout; {_NO_D}",
    "stabilizers.d_spectral_norm": f"the encoder has no spectral norm; {_NO_D}",
    "vae.gamma": f"γ weighs the decoder's GAN gradient; {_NO_D}",
}


def not_read(gan: bool) -> dict[str, str]:
    """The fields of `base_config()` a VAE (`gan=False`) or VAE/GAN run does not read."""
    return NOT_READ if gan else {**NOT_READ, **PLAIN_NOT_READ}


register_unread(TASK, lambda config: not_read(bool(config["vae"]["gan"])))


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
    c.stabilizers.skip_margin = 0.3  # the post's margin rule on the GAN term
    return drop(c, not_read(gan))


def tiny(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """`gan_jax.config.tiny` without the fields it sets that VAE runs do not read."""
    return drop(base_tiny(config), not_read(config.vae.gan))


def validate(config: ml_collections.ConfigDict) -> None:
    """Raise ConfigError (naming the field and the fix) for values of the VAE-only fields."""
    v = config.vae
    choice(v.recon, RECON_SPACES, "vae.recon")
    if v.gan != ("d_optimizer" in config):
        built = "a VAE/GAN" if "d_optimizer" in config else "a plain VAE"
        raise ConfigError(
            f"config.vae.gan={v.gan}: the config is {built}'s (vae_config(gan=...) builds each); "
            "start from mnist_vae / faces_vae for a VAE, mnist_vaegan / faces_vaegan for a "
            "VAE/GAN"
        )
    if v.recon == "features" and not v.gan:
        raise ConfigError(
            "config.vae.recon='features' needs a discriminator; use a VAE/GAN config "
            "(mnist_vaegan, faces_vaegan) or set --config.vae.recon=pixel"
        )
    positive(v.pixel_sigma, "vae.pixel_sigma")
    if v.gan:
        positive(v.gamma, "vae.gamma")
    optim.validate(config.e_optimizer, "e_optimizer")
    if config.model.num_classes:
        raise ConfigError(
            f"config.model.num_classes={config.model.num_classes}: VAE decoders are "
            "unconditional; set --config.model.num_classes=0"
        )
