"""mlp_tutorial: the MLP-GAN tutorial's networks (`gan_jax.models.mlp`), on MNIST:

    G: z -> dense 256 -> ReLU -> dense 784 -> sigmoid
    D: x -> dense 256 -> ReLU -> dense 1 -> sigmoid

Glorot-normal weights N(0, 2 / (fan_in + fan_out)), zero biases, z ~ U[-1, 1]^100, images in
[0, 1], batch 128, Adam(2e-4; TF's β1 = 0.9) for both, 70,000 steps. (The tutorial runs both
updates in one `sess.run` on the same z; gan_jax updates D, then G with fresh noise.)

    python -m experiments.run --config=mlp_tutorial --workdir=runs/mlp_tutorial
    python -m experiments.run --config=mlp_tutorial --workdir=runs/mlp_tutorial \
        --config.data.source=npz:PATH/mnist.npz        # an npz of MNIST (x_train, y_train)
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:mnist"
    c.data.batch_size = 128
    c.model.name = "mlp"
    c.model.latent_dim = 100
    c.model.g_width = 256
    c.model.d_width = 256
    c.model.num_layers = 1
    c.model.activation = "relu"
    c.model.output = "sigmoid"
    c.model.init = "glorot_normal"
    c.model.latent_prior = "uniform"
    for opt in (c.g_optimizer, c.d_optimizer):
        opt.lr, opt.b1 = 2e-4, 0.9
    c.train.num_steps = 70_000
    c.train.steps_per_dispatch = 100
    c.train.log_every = 1000
    c.train.sample_every = 5000
    c.train.checkpoint_every = 5000
    return apply_variant(c, arg)
