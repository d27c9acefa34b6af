"""digits_celeba: the DIGITS GAN walkthrough's CelebA network (NVIDIA DIGITS
examples/gan/network-celebA.py), layer for layer (`gan_jax.models.digits`), on 64x64 faces:

    G: z -> linear 4·4·512 -> BN -> ReLU -> 5x5 s2 deconv 256 -> BN -> ReLU -> deconv 128
       -> BN -> ReLU -> deconv 64 -> BN -> ReLU -> deconv 3 -> tanh
    D: x -> 5x5 s2 conv 64 -> lReLU -> conv 128 -> BN -> lReLU -> conv 256 -> BN -> lReLU
       -> conv 512 -> BN -> lReLU -> linear 1

z ~ N(0, I) of 100, batch 64, Adam(5e-4; TF's β1 = 0.9), 60 epochs; D's real label is 0.9
(DIGITS' soft_label_margin; its G target of 1.1 has no gan_jax loss and G uses 1), d_loss as
(real + fake) / 2 through Adam's ε (see digits_mnist). DIGITS scales pixels as (x - 128) / 127,
gan_jax as x / 127.5 - 1.

    python -m experiments.run --config=digits_celeba --workdir=runs/digits_celeba
    python -m experiments.run --config=digits_celeba --workdir=runs/digits_celeba \
        --config.data.source=folder:celeba/img_align_celeba
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:celeb_a"
    c.data.image_size = 64
    c.data.crop = 108
    c.data.channels = 3
    c.data.batch_size = 64
    c.model.name = "digits_celeba"
    c.model.latent_dim = 100
    c.loss = "bce_smoothed"
    c.loss_options.real_label = 0.9
    for opt in (c.g_optimizer, c.d_optimizer):
        opt.lr, opt.b1 = 5e-4, 0.9
    c.d_optimizer.eps = 2e-8
    c.train.num_steps = 60 * 202_599 // 64  # 60 epochs of CelebA
    c.train.sample_every = 2000
    c.train.checkpoint_every = 2000
    return apply_variant(c, arg)
