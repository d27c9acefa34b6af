"""celeba64_encoder: an encoder for a trained `celeba64` generator, the first step of DIGITS'
attribute vectors ("Black Hair +1, Blond Hair -1"). E is the DCGAN-64 discriminator's body with
a dense head of latent size, started from the trained discriminator; loss = pixel MSE of
G(E(x)) against x plus 0.1 x the latent loss ||E(G(z)) - z||^2 on generated pairs, which keeps
the codes in the region of latent space G was trained on.

    python -m experiments.run --config=celeba64 --workdir=runs/c64
    python -m experiments.run --config=celeba64_encoder --workdir=runs/c64_encoder \
        --config.generator_workdir=runs/c64
    python -m experiments.latent attributes --workdir=runs/c64_encoder --num=20000
    python -m experiments.latent edit --workdir=runs/c64_encoder \
        --edits=Black_Hair:1,Blond_Hair:-1 --images=tfds:celeb_a:test

Trains on the generator run's data (TFDS `celeb_a`, 108-pixel central crop resized to 64).
"""

from gan_jax.config import apply_variant
from gan_jax.encoder.config import encoder_config, tiny


def get_config(arg: str | None = None):
    c = encoder_config()
    c.data.batch_size = 64
    c.optimizer.lr = 2e-4
    c.encoder.latent_loss_weight = 0.1
    c.train.num_steps = 20_000
    c.train.sample_every = 2000
    c.train.checkpoint_every = 2000
    return apply_variant(c, arg, {"tiny": tiny})
