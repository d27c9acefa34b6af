"""mnist_dcgan: the small 28×28 DCGAN (7→14→28, the TensorFlow tutorial's) on MNIST.

    python -m experiments.run --config=mnist_dcgan --workdir=runs/mnist_dcgan
    python -m experiments.run --config=mnist_dcgan --workdir=runs/mnist_dcgan \
        --config.data.source=npz:PATH/mnist.npz        # an npz of MNIST (x_train, y_train)
    python -m experiments.run --config=experiments/configs/mnist_dcgan.py:tiny --workdir=/tmp/t
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:mnist"
    c.data.batch_size = 64
    c.model.name = "dcgan"
    c.model.latent_dim = 100
    c.train.num_steps = 10_000
    # Every 2,000 steps: classifier-feature FID/KID/precision-recall (the classifier trains
    # once, ~1-2 min, and is cached) and the pixel-histogram chi2; keep the best-FID checkpoint.
    c.evals.every = 2000
    c.evals.best_metric = "fid"
    return apply_variant(c, arg)
