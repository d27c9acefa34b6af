"""DCGAN networks (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks").

Two families, picked by image size:

* 32, 64 and 128 pixels: the PyTorch DCGAN example. G projects z to 4x4 with a 4x4 transposed
  conv, then doubles the size with 4x4 stride-2 transposed convs (PyTorch padding=1) while
  halving the channels; D mirrors it with 4x4 stride-2 convs and ends in a 4x4 VALID conv.
  All convs are bias-free (BN follows, or the layer is the first/last one, as in PyTorch), so at
  64x64, z=100, ngf=ndf=64, C=3 the parameter counts equal PyTorch's: G 3,576,704, D 2,765,568.
* 28 pixels: the small MNIST DCGAN of the TensorFlow tutorial (Dense to 7x7, then 5x5 convs).

Transposed convs use `transpose_kernel=True`, so each is exactly the adjoint (gradient) of the
corresponding conv, as in PyTorch and TensorFlow; weights can be ported by axis permutation.
`upsample='subpixel'` computes the stride-2 ones as stride-1 convs + depth-to-space
(`gan_jax.models.layers.subpixel`): the same function and parameter tree, several times faster to
train on XLA:CPU; `'transpose'` uses `nn.ConvTranspose`. `conv_grads='adjoint'` differentiates
D's strided convs and G's sub-pixel layers by their adjoints (`gan_jax.models.layers.
adjoint_conv`: the same gradients, faster on XLA:CPU); `'autodiff'` leaves them to XLA. Both
default to `'auto'`: the CPU tricks on XLA:CPU, XLA's own ops on GPU/TPU (`gan_jax.platform.auto`).
Weights are drawn from N(0, 0.02) and BN scales from N(1, 0.02), as in the paper.

Conditional models (the DIGITS cGAN) concatenate the one-hot label to z and the tiled label to
every hidden activation of G, and to the input image and every hidden activation of D.
"""

import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.errors import ConfigError
from gan_jax.models import family, heads
from gan_jax.models.conditioning import concat_label, label_onehot
from gan_jax.models.layers.conv_layers import StridedConv, SubpixelConvTranspose
from gan_jax.models.regularized import DOptions, d_dropout, d_layer
from gan_jax.platform import auto

POWER_OF_TWO_SIZES = (32, 64, 128)
SIZES = (28, *POWER_OF_TWO_SIZES)
UPSAMPLE = ("subpixel", "transpose")
CONV_GRADS = ("adjoint", "autodiff")
AUTO = "auto"  # the platform's choice (`gan_jax.platform.auto`)

_WEIGHT_INIT = nn.initializers.normal(stddev=0.02)


def _bn_scale_init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
    """BatchNorm scale ~ N(1, 0.02), the DCGAN initialisation."""
    return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def _torch_padding(kernel: int, torch_pad: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Padding for `lax.conv_transpose` equal to PyTorch ConvTranspose2d(padding=torch_pad).

    lax pads the stride-dilated input, so PyTorch's `p` becomes `kernel - 1 - p` per side; the
    output size is then (n - 1) * stride - 2p + kernel (2n for k=4, s=2, p=1).
    """
    pad = kernel - 1 - torch_pad
    return ((pad, pad), (pad, pad))


def _adjoint(conv_grads: str) -> bool:
    if conv_grads not in CONV_GRADS:
        raise ValueError(f"conv_grads must be one of {CONV_GRADS}, got {conv_grads!r}")
    return conv_grads == "adjoint"


def _layer(cls, features: int, kernel: int, stride: int, padding: Any, dtype: Any, **kwargs):
    """A square conv-type layer with DCGAN init and float32 parameters."""
    return cls(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        padding=padding,
        kernel_init=_WEIGHT_INIT,
        dtype=dtype,
        param_dtype=jnp.float32,
        **kwargs,
    )


def _conv_t(
    features: int,
    kernel: int,
    stride: int,
    padding: Any,
    dtype: Any,
    name: str,
    upsample: str = "transpose",
    conv_grads: str = "autodiff",
):
    """Bias-free transposed conv that is the exact adjoint of `nn.Conv` (PyTorch semantics).

    With `upsample='subpixel'` a strided one is computed as stride-1 conv(s) + depth-to-space
    (differentiated by its adjoint with `conv_grads='adjoint'`); both layers own the same
    `kernel` parameter.
    """
    if upsample not in UPSAMPLE:
        raise ValueError(f"upsample must be one of {UPSAMPLE}, got {upsample!r}")
    adjoint = _adjoint(conv_grads)
    if upsample == "subpixel" and stride > 1:
        layer, extra = SubpixelConvTranspose, {"adjoint_grads": adjoint}
    else:
        layer, extra = nn.ConvTranspose, {"transpose_kernel": True}
    return _layer(
        layer, features, kernel, stride, padding, dtype, use_bias=False, name=name, **extra
    )


def _conv(features, kernel, stride, padding, dtype, name, *, bias=False, conv_grads="autodiff"):
    """Conv (`nn.Conv`'s parameters) with DCGAN init; bias-free unless `bias` (only the
    TF-tutorial first D layer); a strided one differentiated by its adjoint if `conv_grads` is
    'adjoint'."""
    extra = {"use_bias": bias, "adjoint_grads": _adjoint(conv_grads), "name": name}
    return _layer(StridedConv, features, kernel, stride, padding, dtype, **extra)


class _Project(nn.Module):
    """G's first layer: `nn.ConvTranspose(features, (size, size), padding=PyTorch 0,
    transpose_kernel=True)` on a 1x1 input, i.e. y[b, i, j, o] = sum_c z[b, c] K[i, j, o, c]:
    computed as that one matmul (the same parameter; XLA's conv with a 3-pixel halo of padding
    was 6x slower on CPU)."""

    features: int
    size: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        if h.shape[1:3] != (1, 1):
            raise ValueError(f"expected a (B, 1, 1, C) input, got shape {h.shape}")
        shape = (self.size, self.size, self.features, h.shape[-1])
        kernel = self.param("kernel", _WEIGHT_INIT, shape, jnp.float32)
        h, kernel = nn.dtypes.promote_dtype(h, kernel, dtype=self.dtype)
        return jnp.einsum("bc,hwoc->bhwo", h[:, 0, 0, :], kernel)


def batch_norm(train: bool, dtype: Any, name: str) -> nn.BatchNorm:
    """BatchNorm with PyTorch defaults (momentum 0.1 there = 0.9 here, eps 1e-5) and the DCGAN
    scale init; in training mode it normalises by the batch and updates the running statistics
    (`batch_stats`), in eval mode it uses them. The MLP G's `batchnorm` uses it too."""
    return nn.BatchNorm(
        use_running_average=not train,
        momentum=0.9,
        epsilon=1e-5,
        scale_init=_bn_scale_init,
        dtype=dtype,
        param_dtype=jnp.float32,
        name=name,
    )


def _lrelu(x: jax.Array) -> jax.Array:
    return nn.leaky_relu(x, negative_slope=0.2)


def _check_input(x: jax.Array, data_shape: Sequence[int]) -> None:
    if tuple(x.shape[1:]) != tuple(data_shape):
        raise ValueError(f"expected images of shape (B, {data_shape}), got {x.shape}")


class _GeneratorFields(nn.Module):
    """The settings every DCGAN generator takes (the subclasses differ in their layers)."""

    data_shape: Sequence[int]
    width: int
    num_classes: int = 0
    dtype: Any = jnp.float32
    upsample: str = "subpixel"
    conv_grads: str = "adjoint"
    latent_prior: str = "normal"  # p(z), read by `gan_jax.core.sampling.latent_sampler`


class _DiscriminatorFields(nn.Module):
    """The settings every DCGAN discriminator takes (the subclasses differ in their layers)."""

    data_shape: Sequence[int]
    width: int
    num_classes: int = 0
    dtype: Any = jnp.float32
    opts: DOptions = DOptions()
    conv_grads: str = "adjoint"


class DCGANGenerator(_GeneratorFields):
    """z (B, latent) [+ labels] -> images (B, S, S, C) in [-1, 1], S in {32, 64, 128}."""

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        size, _, channels = self.data_shape
        num_up = int(math.log2(size)) - 3  # stride-2 blocks between the 4x4 map and the output
        onehot = label_onehot(labels, self.num_classes, z.shape[0], self.dtype)
        h = concat_label(z.astype(self.dtype), onehot)[:, None, None, :]
        h = _Project(self.width * 2**num_up, 4, self.dtype, name="project")(h)
        h = nn.relu(batch_norm(train, self.dtype, name="project_bn")(h))
        h = concat_label(h, onehot)
        pad = _torch_padding(4, 1)
        for i in range(num_up):
            features = self.width * 2 ** (num_up - 1 - i)
            up = _conv_t(features, 4, 2, pad, self.dtype, f"up{i}", self.upsample, self.conv_grads)
            h = up(h)
            h = nn.relu(batch_norm(train, self.dtype, name=f"up{i}_bn")(h))
            h = concat_label(h, onehot)
        out = _conv_t(channels, 4, 2, pad, self.dtype, "to_image", self.upsample, self.conv_grads)
        return jnp.tanh(out(h)).astype(jnp.float32)


class DCGANDiscriminator(_DiscriminatorFields):
    """images (B, S, S, C) [+ labels] -> raw logits (B,), S in {32, 64, 128}."""

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        _check_input(x, self.data_shape)
        batch, opts = x.shape[0], self.opts
        num_down = int(math.log2(self.data_shape[0])) - 3  # BN blocks after the first conv
        onehot = label_onehot(labels, self.num_classes, batch, self.dtype)
        h = concat_label(x.astype(self.dtype), onehot)
        pad, grads = ((1, 1), (1, 1)), self.conv_grads
        conv = _conv(self.width, 4, 2, pad, self.dtype, name="down0", conv_grads=grads)
        h = _lrelu(d_layer(conv, h, train, opts))
        h = concat_label(d_dropout(h, train, opts), onehot)
        for i in range(1, num_down + 1):
            conv = _conv(self.width * 2**i, 4, 2, pad, self.dtype, f"down{i}", conv_grads=grads)
            h = d_layer(conv, h, train, opts)
            if opts.batchnorm:
                h = batch_norm(train, self.dtype, name=f"down{i}_bn")(h)
            h = concat_label(d_dropout(_lrelu(h), train, opts), onehot)
        logit = d_layer(_conv(1, 4, 1, "VALID", self.dtype, name="logit"), h, train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)


class DCGAN28Generator(_GeneratorFields):
    """z (B, latent) [+ labels] -> images (B, 28, 28, C) in [-1, 1] (TensorFlow DCGAN tutorial)."""

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, train: bool = True):
        channels = self.data_shape[-1]
        batch = z.shape[0]
        onehot = label_onehot(labels, self.num_classes, batch, self.dtype)
        h = concat_label(z.astype(self.dtype), onehot)
        h = nn.Dense(
            7 * 7 * self.width * 4,
            use_bias=False,
            kernel_init=_WEIGHT_INIT,
            dtype=self.dtype,
            param_dtype=jnp.float32,
            name="project",
        )(h)
        h = _lrelu(batch_norm(train, self.dtype, name="project_bn")(h))
        h = concat_label(h.reshape((batch, 7, 7, self.width * 4)), onehot)
        for i, (features, stride) in enumerate(((self.width * 2, 1), (self.width, 2))):
            up = _conv_t(
                features, 5, stride, "SAME", self.dtype, f"up{i}", self.upsample, self.conv_grads
            )
            h = up(h)
            h = _lrelu(batch_norm(train, self.dtype, name=f"up{i}_bn")(h))
            h = concat_label(h, onehot)
        out = _conv_t(
            channels, 5, 2, "SAME", self.dtype, "to_image", self.upsample, self.conv_grads
        )
        return jnp.tanh(out(h)).astype(jnp.float32)


class DCGAN28Discriminator(_DiscriminatorFields):
    """images (B, 28, 28, C) [+ labels] -> raw logits (B,) (TensorFlow DCGAN tutorial + BN)."""

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        _check_input(x, self.data_shape)
        batch, opts = x.shape[0], self.opts
        onehot = label_onehot(labels, self.num_classes, batch, self.dtype)
        h = concat_label(x.astype(self.dtype), onehot)
        grads = self.conv_grads
        conv = _conv(self.width, 5, 2, "SAME", self.dtype, "down0", bias=True, conv_grads=grads)
        h = d_dropout(_lrelu(d_layer(conv, h, train, opts)), train, opts)
        h = concat_label(h, onehot)
        conv = _conv(self.width * 2, 5, 2, "SAME", self.dtype, "down1", conv_grads=grads)
        h = d_layer(conv, h, train, opts)
        if opts.batchnorm:
            h = batch_norm(train, self.dtype, name="down1_bn")(h)
        h = d_dropout(_lrelu(h), train, opts)
        h = concat_label(h, onehot).reshape((batch, -1))
        dense = nn.Dense(
            1, kernel_init=_WEIGHT_INIT, dtype=self.dtype, param_dtype=jnp.float32, name="logit"
        )
        logit = d_layer(dense, h, train, opts)
        return logit.reshape((batch,)).astype(jnp.float32)


def build(
    data_shape: Sequence[int],
    g_width: int,
    d_width: int,
    num_classes: int,
    dtype: Any,
    d_opts: DOptions | None = None,
    upsample: str = "subpixel",
    conv_grads: str = "adjoint",
    latent_prior: str = "normal",
) -> tuple[nn.Module, nn.Module]:
    """Returns (generator, discriminator) for a validated square image shape in `SIZES`;
    `upsample` ('subpixel' | 'transpose') picks how G computes its stride-2 transposed convs,
    `conv_grads` ('adjoint' | 'autodiff') how strided convs are differentiated."""
    if data_shape[0] == 28:
        gen_cls, disc_cls = DCGAN28Generator, DCGAN28Discriminator
    else:
        gen_cls, disc_cls = DCGANGenerator, DCGANDiscriminator
    shape = tuple(data_shape)
    return (
        gen_cls(
            shape,
            g_width,
            num_classes,
            dtype=dtype,
            upsample=upsample,
            conv_grads=conv_grads,
            latent_prior=latent_prior,
        ),
        disc_cls(shape, d_width, num_classes, dtype, d_opts or DOptions(), conv_grads),
    )


def build_family(config: Any, data_shape: tuple[int, ...], dtype: Any, opts: DOptions):
    """The `model.name='dcgan'` builder; `upsample`/`conv_grads` 'auto' resolve per platform.

    Parameters (bias-free convs, BN scale + shift), with z = latent_dim, K = num_classes,
    w = g_width, v = d_width, C channels, u = log2(S) − 3 for S in {32, 64, 128}:
    G = 16(z + K)·w2^u + 2w2^u + Σ_{i<u} [16(w2^(u−i) + K)·w2^(u−1−i) + 2w2^(u−1−i)]
    + 16(w + K)·C and D = 16(C + K)·v + Σ_{1≤i≤u} [16(v2^(i−1) + K)·v2^i + 2v2^i] + 16(v2^u + K)
    (the D BN terms only with stabilizers.d_batchnorm): 3,576,704 and 2,765,568 at 64x64x3,
    z 100, w = v = 64, as PyTorch's example. At S = 28: G = 196(z + K)·w + 392w + 50(4w + K)·w
    + 4w + 25(2w + K)·w + 2w + 25(w + K)·C, D = 25(C + K)·v + v + 50(v + K)·v + 4v
    + 49(2v + K) + 1.
    """
    if len(data_shape) != 3 or data_shape[0] != data_shape[1] or data_shape[0] not in SIZES:
        supported = ", ".join(str(s) for s in SIZES)
        raise ConfigError(
            f"dcgan does not support data shape {data_shape}; it needs square (H, W, C) images "
            f"with H = W in {{{supported}}} (use model.name='mlp' for other shapes)"
        )
    return build(
        data_shape,
        family.integer(config, "g_width", 1),
        family.integer(config, "d_width", 1),
        family.integer(config, "num_classes", 0),
        dtype,
        opts,
        auto.resolve("upsample", config.upsample),
        auto.resolve("conv_grads", config.conv_grads),
        config.latent_prior,
    )


FAMILY = family.register(
    family.Family(
        "dcgan",
        {
            **heads.widths(),
            "upsample": family.Field(
                AUTO,
                "G's stride-2 transposed convs: subpixel (stride-1 convs + depth-to-space, "
                "faster on XLA:CPU) | transpose (nn.ConvTranspose) | auto (per platform)",
                (AUTO, *UPSAMPLE),
            ),
            "conv_grads": family.Field(
                AUTO,
                "strided convs' gradients: adjoint (by the adjoint layer's forward algorithm, "
                "faster on XLA:CPU) | autodiff (XLA's) | auto (per platform)",
                (AUTO, *CONV_GRADS),
            ),
            "latent_prior": heads.LATENT_PRIOR,
        },
        build_family,
        "DCGAN (Radford et al. 2016): the PyTorch example's G and D at 32/64/128 px, the "
        "TensorFlow tutorial's at 28 px (`gan_jax/models/dcgan.py`).",
    )
)
