"""mnist_vae: a plain VAE on MNIST (the faces post's first model, at MNIST size). The encoder is
the 28-pixel DCGAN discriminator's body (two 5×5 stride-2 convs; widths 32) with a dense head to
(μ, log σ²); the decoder is that config's generator (the TensorFlow tutorial's net, tanh
output); loss = KL + Σ (x − x̃)² / 2σ² with σ = 0.5 on images in [-1, 1]. Compare with
`mnist_vaegan` (same networks and budget, plus a discriminator).

    python -m experiments.run --config=mnist_vae --workdir=runs/mnist_vae
    python -m experiments.run --config=mnist_vae --workdir=runs/mnist_vae \
        --config.data.source=npz:PATH/mnist.npz        # an npz of MNIST (x_train, y_train)
    python -m experiments.run --config=mnist_vae:tiny --workdir=/tmp/t
"""

from gan_jax.config import apply_variant
from gan_jax.vae.config import tiny, vae_config


def mnist_config(gan: bool):
    """Shared by `mnist_vae` and `mnist_vaegan`: the same networks, optimizers and budget."""
    c = vae_config(gan)
    c.data.source = "tfds:mnist"
    c.data.batch_size = 64
    c.model.name = "dcgan"
    c.model.latent_dim = 32
    c.model.g_width = 32  # half the GAN config's widths: a VAE/GAN step trains three networks
    c.model.d_width = 32
    for net in ("e_optimizer", "g_optimizer", "d_optimizer"):
        if net in c:  # a plain VAE has no D (no d_optimizer)
            c[net].lr, c[net].b1 = 3e-4, 0.5
    c.train.num_steps = 5000
    c.train.sample_every = 500
    c.train.checkpoint_every = 1000
    return c


def get_config(arg: str | None = None):
    return apply_variant(mnist_config(gan=False), arg, {"tiny": tiny})
