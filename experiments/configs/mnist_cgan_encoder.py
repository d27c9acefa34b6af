"""mnist_cgan_encoder: an encoder for a trained `mnist_cgan` generator (the DIGITS GAN
walkthrough). E is the cGAN discriminator's body with a dense head of latent size, starts from
the trained discriminator, takes the digit label as G does, and learns z = E(x, y) so that
G(z, y) reconstructs x; G stays frozen.

    python -m experiments.run --config=mnist_cgan --workdir=runs/mnist_cgan \
        --config.data.source=npz:PATH/mnist.npz
    python -m experiments.run --config=mnist_cgan_encoder --workdir=runs/mnist_cgan_encoder \
        --config.generator_workdir=runs/mnist_cgan

The encoder trains on the generator run's data unless `--config.data.source` says otherwise.
Then `gan_jax.load("runs/mnist_cgan_encoder").encode(images, labels)`, or
`python -m experiments.latent encode --workdir=runs/mnist_cgan_encoder`.
"""

from gan_jax.config import apply_variant
from gan_jax.encoder.config import encoder_config, tiny


def get_config(arg: str | None = None):
    c = encoder_config()
    c.data.batch_size = 64
    c.optimizer.lr = 2e-4
    c.encoder.latent_loss_weight = 0.0
    c.train.num_steps = 5000
    c.train.sample_every = 1000
    c.train.checkpoint_every = 1000
    return apply_variant(c, arg, {"tiny": tiny})
