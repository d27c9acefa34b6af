"""mnist_cgan: the DIGITS conditional DCGAN on MNIST — the one-hot digit label is concatenated to
G's input and every G/D layer's activations, so samples can be asked for by class.

    python -m experiments.run --config=mnist_cgan --workdir=runs/mnist_cgan \
        --config.data.source=npz:PATH/mnist.npz

Sample grids show one digit class per row.
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:mnist"
    c.data.batch_size = 64
    c.model.name = "dcgan"
    c.model.latent_dim = 100
    c.model.num_classes = 10
    c.train.num_steps = 10_000
    # Every 2,000 steps: classifier-feature FID/KID/precision-recall (the classifier trains
    # once, ~1-2 min, and is cached) and the pixel-histogram chi2; keep the best-FID checkpoint.
    c.evals.every = 2000
    c.evals.best_metric = "fid"
    c.train.num_samples = 100
    return apply_variant(c, arg)
