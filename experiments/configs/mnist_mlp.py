"""mnist_mlp: the seeds' MLP GAN on MNIST (one hidden layer of 128, LeakyReLU, tanh output).

    python -m experiments.run --config=mnist_mlp --workdir=runs/mnist_mlp
    python -m experiments.run --config=mnist_mlp --workdir=runs/mnist_mlp \
        --config.data.source=npz:PATH/mnist.npz        # an npz of MNIST (x_train, y_train)
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:mnist"
    c.data.batch_size = 64
    c.model.name = "mlp"
    c.model.latent_dim = 100
    c.model.g_width = 128
    c.model.d_width = 128
    c.model.num_layers = 1
    c.train.num_steps = 20_000
    # The MLP step is dispatch-bound: 100 steps per lax.scan dispatch (see README "Speed").
    c.train.steps_per_dispatch = 100
    c.train.sample_every = 2000
    c.train.checkpoint_every = 2000
    return apply_variant(c, arg)
