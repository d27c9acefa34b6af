"""mnist_cgan_1k: limited-data training — `mnist_cgan`'s conditional DCGAN trained on a fixed
draw of 1,000 MNIST images (`data.limit`), for the DiffAugment study in docs/results.md.

    python -m experiments.ablate --config=mnist_cgan_1k --seeds=3 --workdir=runs/mnist_1k \
        --config.data.source=npz:PATH/mnist.npz \
        --sweep 'augment.policy=none,color+translation+cutout'

With 1,000 images D can memorise the training set, which is where DiffAugment (Zhao et al.
2020, `gan_jax.core.augment`) is meant to help. Evaluation reads the *whole* dataset (the
classifier and the 5,000 real reference images come from all of MNIST's training split), so
FID/KID measure the distance to the distribution the 1,000 images were drawn from, and the
class accuracy (the domain classifier agreeing with the conditioning label) says whether the
samples are the digits asked for. Budget sized for a 2-core CPU: both networks at width 32 (a
quarter of `mnist_cgan`'s convolution work), 3,000 steps (192 passes over the 1,000 images),
an evaluation of 2,000 samples every 500 steps (the curves).
"""

from experiments.configs.mnist_cgan import get_config as mnist_cgan
from gan_jax.config import apply_variant


def get_config(arg: str | None = None):
    c = mnist_cgan()
    c.data.limit = 1000
    c.model.g_width = c.model.d_width = 32
    c.train.num_steps = 3000
    c.train.sample_every = c.train.checkpoint_every = 500
    c.evals.every = 500
    c.evals.num_samples = 2000
    return apply_variant(c, arg)
