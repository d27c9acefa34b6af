"""faces_vaegan: the faces post's VAE/GAN on LFW: the VAE's decoder is the GAN's generator, both
share z ~ N(0, 1), error = KL + pixel reconstruction + GAN, the decoder's gradient is
γ ∇ reconstruction + ∇ GAN (γ = 0.01) and the GAN term is balanced by the post's margin rule
(m = 0.3). Networks and data as `faces_vae`, plus the post's discriminator (with its dropout).
`--config.vae.recon=features` measures the reconstruction in D's feature space (Larsen).

    python -m experiments.run --config=faces_vaegan --workdir=runs/faces_vaegan \
        --config.data.source=folder:PATH/lfw-deepfunneled
"""

from experiments.configs.faces_vae import faces_vae_config, tiny
from gan_jax.config import apply_variant


def get_config(arg: str | None = None):
    return apply_variant(faces_vae_config(gan=True), arg, {"tiny": tiny})
