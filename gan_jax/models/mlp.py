"""Fully connected GAN networks (Goodfellow et al. 2014, "Generative Adversarial Nets").

The generator maps z through `num_layers` hidden Dense layers to prod(data_shape) outputs and
reshapes them; the discriminator flattens its input, runs it through its own number of hidden
layers and returns one raw logit per example. By default there are no normalisation layers, so
the same networks work for images and for low-dimensional toy data such as 2-D Gaussian mixtures
(use `output='linear'` there, since the data is not in [-1, 1]). Conditional versions concatenate
the one-hot label to the input and every hidden activation.

The MLP tutorial's GAN is this network with `num_layers=1`, width 256, ReLU, a sigmoid output
(images in [0, 1]: D reads x/255, see `gan_jax.models.heads`), Glorot-normal weights
(`init='glorot_normal'`), zero biases and z ~ U[-1, 1] (`latent_prior='uniform'`):
`experiments/configs/mlp_tutorial.py`.

The PacGAN/VEEGAN 2-D networks (Lin et al. 2018, Table 1; `experiments/configs/ring8_pacgan.py`)
need three more switches:

* G `batchnorm`: each hidden layer is a bias-free Dense -> BatchNorm -> activation (the authors'
  Blocks MLP with `use_bias=False` and a BatchNormalization before the ReLU). The BN is DCGAN G's
  (`dcgan.batch_norm`), so G's `batch_stats` flow through the train step and the samplers as
  for DCGAN: batch statistics in training, running statistics in eval mode.
* D `maxout` = k pieces (Goodfellow et al. 2013, "Maxout networks"; Blocks' LinearMaxout): each
  hidden layer is Dense(width·k), reshaped to (B, width, k) and maxed over the k pieces, so the
  pieces of unit j are the k consecutive Dense outputs j·k … j·k + k − 1. The max is the layer's
  non-linearity: D's `activation` is not applied after it.
* D's own `num_layers` (the paper's D has 3 hidden layers, G 4), set by `model.d_num_layers`.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError
from gan_jax.models import family, heads
from gan_jax.models.conditioning import concat_label, label_onehot
from gan_jax.models.dcgan import batch_norm
from gan_jax.models.regularized import DOptions, d_dropout, d_layer


def _leaky_relu(x: jax.Array) -> jax.Array:
    """LeakyReLU with slope 0.2, the usual GAN choice (Radford et al. 2016)."""
    return nn.leaky_relu(x, negative_slope=0.2)


ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "leaky_relu": _leaky_relu,
    "relu": nn.relu,
}
OUTPUTS = heads.OUTPUTS


def max_pieces(h: jax.Array, pieces: int) -> jax.Array:
    """(B, width·pieces) -> (B, width): unit j is the max of columns j·pieces … j·pieces +
    pieces − 1 (the grouping of Blocks' Maxout, which the PacGAN authors' D uses)."""
    batch, features = h.shape
    return jnp.max(h.reshape((batch, features // pieces, pieces)), axis=-1)


class MLPGenerator(nn.Module):
    """z (B, latent) [+ labels (B,)] -> samples (B, *data_shape) in float32."""

    data_shape: Sequence[int]
    width: int
    num_layers: int = 1
    activation: str = "leaky_relu"
    output: str = "tanh"
    num_classes: int = 0
    dtype: Any = jnp.float32
    latent_prior: str = "normal"
    data_range: str = "-1,1"
    weight_init: str = "default"
    batchnorm: bool = False  # hidden Dense (bias-free) -> BatchNorm -> activation

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        onehot = label_onehot(labels, self.num_classes, z.shape[0], self.dtype)
        act = ACTIVATIONS[self.activation]
        kernel_init = heads.initializer(self.weight_init, nn.initializers.lecun_normal())
        h = concat_label(z.astype(self.dtype), onehot)
        for i in range(self.num_layers):
            dense = nn.Dense(
                self.width,
                use_bias=not self.batchnorm,  # BN's shift replaces the bias
                kernel_init=kernel_init,
                dtype=self.dtype,
                param_dtype=jnp.float32,
                name=f"hidden{i}",
            )
            h = dense(h)
            if self.batchnorm:
                h = batch_norm(train, self.dtype, name=f"hidden{i}_bn")(h)
            h = concat_label(act(h), onehot)
        out = nn.Dense(
            math.prod(self.data_shape),
            kernel_init=kernel_init,
            dtype=self.dtype,
            param_dtype=jnp.float32,
            name="to_data",
        )(h)
        out = heads.generator_output(out, self.output, self.data_range)
        return out.reshape((z.shape[0], *self.data_shape))


class MLPDiscriminator(nn.Module):
    """x (B, *data_shape) [+ labels (B,)] -> raw logits (B,) in float32."""

    width: int
    num_layers: int = 1
    activation: str = "leaky_relu"
    num_classes: int = 0
    dtype: Any = jnp.float32
    opts: DOptions = DOptions()  # spectral norm and dropout apply; the MLP has no BatchNorm
    data_range: str = "-1,1"
    weight_init: str = "default"
    maxout: int = 0  # > 0: hidden layers are LinearMaxout with this many pieces (no activation)

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        batch, opts, dt = x.shape[0], self.opts, self.dtype
        onehot = label_onehot(labels, self.num_classes, batch, dt)
        act = ACTIVATIONS[self.activation]
        kernel_init = heads.initializer(self.weight_init, nn.initializers.lecun_normal())
        x = heads.discriminator_input(x.reshape((batch, -1)), self.data_range, dt)
        h = concat_label(x, onehot)
        pieces = max(self.maxout, 1)
        for i in range(self.num_layers):
            dense = nn.Dense(
                self.width * pieces,
                kernel_init=kernel_init,
                dtype=dt,
                param_dtype=jnp.float32,
                name=f"hidden{i}",
            )
            h = d_layer(dense, h, train, opts)
            h = max_pieces(h, pieces) if self.maxout else act(h)
            h = concat_label(d_dropout(h, train, opts), onehot)
        dense = nn.Dense(
            1, kernel_init=kernel_init, dtype=dt, param_dtype=jnp.float32, name="logit"
        )
        logit = d_layer(dense, h, train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)


def build(config: Any, data_shape: tuple[int, ...], dtype: Any, opts: DOptions):
    """The `model.name='mlp'` builder.

    Parameters, with z = latent_dim, K = num_classes, w = g_width, L = num_layers, n =
    prod(data_shape), b = 1 without and 2 with g_batchnorm (BN's scale and shift replace the
    bias): G = (z + K)·w + (L − 1)(w + K)·w + L·b·w + (w + K)·n + n. With v = d_width, p =
    max(d_maxout, 1) and M = d_num_layers (or L): D = (n + K + 1)·v·p + (M − 1)(v + K + 1)·v·p +
    v + K + 1. At ring8 (z 2, w = v 256, L 3, n 2): G 132,866, D 132,609.
    """
    num_layers = family.integer(config, "num_layers", 1)
    d_maxout = family.integer(config, "d_maxout", 0)
    if d_maxout == 1:
        raise ConfigError("model.d_maxout=1 is a linear layer; use 0 (off) or >= 2 pieces")
    head = heads.resolved_heads(config)
    num_classes = family.integer(config, "num_classes", 0)
    gen = MLPGenerator(
        data_shape,
        family.integer(config, "g_width", 1),
        num_layers=num_layers,
        activation=config.activation,
        num_classes=num_classes,
        dtype=dtype,
        latent_prior=config.latent_prior,
        weight_init=config.init,
        batchnorm=bool(config.g_batchnorm),
        **head,
    )
    disc = MLPDiscriminator(
        family.integer(config, "d_width", 1),
        num_layers=family.integer(config, "d_num_layers", 0) or num_layers,
        activation=config.activation,
        num_classes=num_classes,
        dtype=dtype,
        opts=opts,
        data_range=head["data_range"],
        weight_init=config.init,
        maxout=d_maxout,
    )
    return gen, disc


FAMILY = family.register(
    family.Family(
        "mlp",
        {
            **heads.widths(),
            "num_layers": family.Field(1, "G's hidden layers (and D's unless d_num_layers)"),
            "d_num_layers": family.Field(0, "D's hidden layers (0 = num_layers; PacGAN's D: 3)"),
            "d_maxout": family.Field(
                0, "> 1: D's hidden layers are LinearMaxout of this many pieces (PacGAN); 0 = off"
            ),
            "g_batchnorm": family.Field(False, "G: bias-free Dense -> BatchNorm -> activation"),
            "activation": family.Field("leaky_relu", "hidden activation", tuple(ACTIVATIONS)),
            **heads.output_fields("tanh"),
            "init": heads.INIT,
            "latent_prior": heads.LATENT_PRIOR,
        },
        build,
        "Fully connected G and D (Goodfellow et al. 2014); the MLP tutorial's and the PacGAN / "
        "VEEGAN 2-D networks (`gan_jax/models/mlp.py`).",
    )
)
