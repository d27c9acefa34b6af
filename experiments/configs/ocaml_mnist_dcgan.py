"""ocaml_mnist_dcgan: the ocaml-torch GAN examples' MNIST DCGAN (LaurentMazare/ocaml-torch
examples/gan/mnist_dcgan.ml), layer for layer (`gan_jax.models.ocaml_dcgan`):

    G: z -> 7x7 transposed conv 100->64 -> BN -> ReLU -> 4x4 s2 transposed conv 32 -> BN -> ReLU
       -> 4x4 s2 transposed conv 1 -> tanh
    D: x -> 4x4 s2 conv 1->32 -> lReLU -> 4x4 s2 conv 64 -> BN -> lReLU -> 7x7 conv 1

BN = parameter-free batch normalisation (`const_batch_norm`); leaky ReLU slope 0.01. As the
example: z ~ U[-1, 1]^100, images in [-1, 1], batch 128, Adam(1e-4; β1 = 0.9) for both, BCE
with real label 0.9 for D and 1 for G.

    python -m experiments.run --config=ocaml_mnist_dcgan --workdir=runs/ocaml_dcgan
    python -m experiments.run --config=ocaml_mnist_dcgan --workdir=runs/ocaml_dcgan \
        --config.data.source=npz:PATH/mnist.npz        # an npz of MNIST (x_train, y_train)
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:mnist"
    c.data.batch_size = 128
    c.model.name = "ocaml_dcgan"
    c.model.latent_dim = 100
    c.model.g_width = 64
    c.model.d_width = 32
    c.model.latent_prior = "uniform"
    c.loss = "bce_smoothed"
    c.loss_options.real_label = 0.9
    for opt in (c.g_optimizer, c.d_optimizer):
        opt.lr, opt.b1 = 1e-4, 0.9
    c.train.num_steps = 50_000
    c.train.sample_every = 5000
    c.train.checkpoint_every = 5000
    c.train.num_samples = 100
    return apply_variant(c, arg)
