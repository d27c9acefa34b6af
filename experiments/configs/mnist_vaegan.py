"""mnist_vaegan: VAE/GAN on MNIST (the faces post's combined model; Larsen et al. 2016). The
`mnist_vae` networks and budget plus the 28-pixel DCGAN discriminator (no BatchNorm, as the
post advises): the decoder is the generator, VAE and GAN share z ~ N(0, 1), and the error is
KL + pixel reconstruction + GAN (bce on real images vs reconstructions and prior samples); the
decoder's update is γ ∇ reconstruction + ∇ GAN with γ = 0.01, and the GAN term is balanced by
the post's margin rule (`stabilizers.skip_margin=0.3`, `skip_rule='either'`).
`--config.vae.recon=features` measures the reconstruction in D's feature space (Larsen).

    python -m experiments.run --config=mnist_vaegan --workdir=runs/mnist_vaegan
    python -m experiments.run --config=mnist_vaegan --workdir=runs/mnist_vaegan \
        --config.data.source=npz:PATH/mnist.npz        # an npz of MNIST (x_train, y_train)
    python -m experiments.vae --compare=runs/mnist_vae,runs/mnist_vaegan --out=vae_vs_vaegan.png
"""

from experiments.configs.mnist_vae import mnist_config
from gan_jax.config import apply_variant
from gan_jax.vae.config import tiny


def get_config(arg: str | None = None):
    return apply_variant(mnist_config(gan=True), arg, {"tiny": tiny})
