"""digits_mnist: the DIGITS GAN walkthrough's conditional MNIST GAN (NVIDIA DIGITS
examples/gan/network-mnist.py), layer for layer (`gan_jax.models.digits`):

    G: [z, y] -> linear 1024 -> BN -> ReLU -> [·, y] -> linear 7·7·128 -> BN -> ReLU -> [·, y]
       -> 5x5 s2 deconv 128 -> BN -> ReLU -> [·, y] -> 5x5 s2 deconv 1 -> sigmoid
    D: [x, y] -> 5x5 s2 conv 11 -> lReLU -> [·, y] -> 5x5 s2 conv 74 -> BN -> lReLU
       -> flatten, [·, y] -> linear 1024 -> BN -> lReLU -> [·, y] -> linear 1

y = the one-hot digit, [·, y] = concatenated (tiled over feature maps). Images in [0, 1] (D
reads x/255, G ends in a sigmoid), z ~ N(0, I) of 100, Adam(2e-4; TF's β1 = 0.9), 60 epochs at
batch 64. DIGITS minimises d_loss = (real + fake) / 2; gan_jax's bce is real + fake, and Adam
with ε = 2e-8 on the doubled loss takes the same steps as Adam with ε = 1e-8 on the half.

    python -m experiments.run --config=digits_mnist --workdir=runs/digits_mnist
    python -m experiments.run --config=digits_mnist --workdir=runs/digits_mnist \
        --config.data.source=npz:PATH/mnist.npz        # an npz of MNIST (x_train, y_train)
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:mnist"
    c.data.batch_size = 64
    c.model.name = "digits_mnist"
    c.model.latent_dim = 100
    c.model.num_classes = 10
    c.model.output = "sigmoid"
    for opt in (c.g_optimizer, c.d_optimizer):
        opt.lr, opt.b1 = 2e-4, 0.9
    c.d_optimizer.eps = 2e-8
    c.train.num_steps = 60 * 60_000 // 64  # 60 epochs
    c.train.sample_every = 2000
    c.train.checkpoint_every = 2000
    c.train.num_samples = 100
    return apply_variant(c, arg)
