"""gan_jax: a JAX/Flax research framework for generative adversarial networks.

The pieces, each in its own module: `gan_jax.losses` (swappable GAN objectives),
`gan_jax.models` (generators and discriminators), `gan_jax.data` (sources), `gan_jax.step` (the
pure train step), `gan_jax.parallel` (jit-sharded and pmap execution), `gan_jax.train`
(`train_and_evaluate`, the loop behind `python -m experiments.run`).

Importing `gan_jax` is light: nothing here imports TensorFlow.
"""

__version__ = "0.1.0"
