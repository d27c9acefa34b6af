"""keras_dcgan: the Keras GAN intro's DCGAN ("Getting started with generative adversarial
networks"), layer for layer (`gan_jax.models.keras_dcgan`):

    D: x -> 5x5 s2 conv 64 -> lReLU -> 5x5 s2 conv 128 -> lReLU -> dropout 0.4
       -> 5x5 s2 conv 256 -> lReLU -> dropout -> 5x5 s1 conv 512 -> lReLU -> dropout
       -> flatten -> dense 1 -> sigmoid                                  (4,311,553 parameters)
    G: z -> dense 7·7·256 -> BN(momentum 0.9) -> lReLU -> reshape -> dropout 0.4
       -> UpSampling2D -> 5x5 conv 128 -> BN -> lReLU -> UpSampling2D -> 5x5 conv 64 -> BN
       -> lReLU -> 5x5 conv 32 -> BN -> lReLU -> 5x5 conv 1 -> sigmoid   (2,368,705 trainable)

As the post: z ~ U[-1, 1]^100, images in [0, 1], batch 256, 3,001 iterations, D by RMSprop(8e-4,
ρ 0.9), the adversarial model (G) by Adam(4e-4; β1 = 0.9), both with clipvalue 1. Keras' D loss is
the mean over real and fake together, (real + fake) / 2; gan_jax's bce is real + fake, so D's
clip is 2 (clip(g/2, 1) = clip(g, 2)/2, and RMSprop ignores the factor 2 but for its ε). D's
real/fake accuracy is the `d_accuracy` metric. More G than D updates: --config.train.n_gen=2.

    python -m experiments.run --config=keras_dcgan --workdir=runs/keras_dcgan
    python -m experiments.run --config=keras_dcgan --workdir=runs/keras_dcgan \
        --config.data.source=npz:PATH/mnist.npz        # an npz of MNIST (x_train, y_train)
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:mnist"
    c.data.batch_size = 256
    c.model.name = "keras_dcgan"
    c.model.latent_dim = 100
    c.model.latent_prior = "uniform"
    c.model.output = "sigmoid"
    c.model.upsample = "nearest"
    c.model.g_dropout = 0.4
    c.stabilizers.d_dropout = 0.4
    c.stabilizers.d_batchnorm = False
    c.d_optimizer.name, c.d_optimizer.lr, c.d_optimizer.eps = "rmsprop", 8e-4, 1e-7
    c.d_optimizer.clip_value = 2.0
    c.g_optimizer.lr, c.g_optimizer.b1 = 4e-4, 0.9
    c.g_optimizer.clip_value = 1.0
    c.train.num_steps = 3001
    c.train.log_every = 1
    c.train.sample_every = 500
    c.train.checkpoint_every = 1000
    c.train.num_samples = 16
    return apply_variant(c, arg)
