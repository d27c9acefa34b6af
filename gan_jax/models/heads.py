"""Building blocks of the walkthrough networks (`digits`, `ocaml_dcgan`, `keras_dcgan`, `mlp`):
the config options the walkthroughs need and the DCGAN family does not have.

* Output heads with the data range matched: a generator's last layer goes through `output`
  (tanh | sigmoid | linear) and the result, in the networks' data range (sigmoid: [0, 1]), is
  mapped to gan_jax's [-1, 1]; a discriminator maps its [-1, 1] input back first
  (`gan_jax.data.preprocess`). So a sigmoid network sees exactly x/255, as in DIGITS and Keras.
* Weight initialisers by name (`model.init`): Glorot (Glorot & Bengio 2010) uniform
  U(±sqrt(6 / (fan_in + fan_out))) (Keras' default) or normal N(0, 2 / (fan_in + fan_out))
  (the MLP tutorial's `tf.random_normal`, not truncated), or `normal_0.02`: N(0, 0.02²), the
  DCGAN paper's init (Radford et al. 2016), which the PacGAN/VEEGAN 2-D networks also use.
* Up-sampling by resize + conv (`upsample` nearest | bilinear: Keras' UpSampling2D; Odena et al.
  2016, "Deconvolution and Checkerboard Artifacts"), 2x2 max-pooling, and element or spatial
  dropout (Tompson et al. 2015: whole feature maps, Keras' SpatialDropout2D).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.data.preprocess import (
    DATA_RANGES,
    from_model_range,
    resolve_data_range,
    to_model_range_from,
)
from gan_jax.errors import ConfigError
from gan_jax.models.family import Field

OUTPUTS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "linear": lambda x: x,
}
LATENT_PRIORS = ("normal", "uniform")  # model.latent_prior: N(0, I) | U[-1, 1]^d
INITS = ("default", "glorot_uniform", "glorot_normal", "normal_0.02")
UPSAMPLE = ("nearest", "bilinear")
DROPOUT_KINDS = ("element", "spatial")
D_POOL = ("stride", "max")

DCGAN_INIT = nn.initializers.normal(stddev=0.02)  # Radford et al. 2016, DIGITS' `linear`

# The `model.*` fields these blocks give a family (each family's schema lists those it has).
LATENT_PRIOR = Field(
    "normal",
    "z ~ N(0, I) | U[-1, 1]^d, in training, pictures, evals and gan_jax.load",
    LATENT_PRIORS,
)
INIT = Field("default", "kernel initialiser (default = the network's own)", INITS)


def widths(g: int = 64, d: int = 64) -> dict[str, Field]:
    """`g_width`/`d_width`: the base channel (or unit) counts of G and D."""
    return {
        "g_width": Field(g, "G's base width (channels of its widest/last block, or units)"),
        "d_width": Field(d, "D's base width"),
    }


def output_fields(default: str) -> dict[str, Field]:
    """G's `output` head and the networks' `data_range` (auto: the head's own range)."""
    return {
        "output": Field(default, "G's output activation", tuple(OUTPUTS)),
        "data_range": Field(
            "auto",
            "range the networks see images in (auto: the output's)",
            ("auto", *DATA_RANGES),
        ),
    }


def resolved_heads(config: Any) -> dict[str, str]:
    """{'output', 'data_range'} of a resolved model block, checked against each other."""
    try:
        data_range = resolve_data_range(config.data_range, config.output)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return {"output": config.output, "data_range": data_range}


def initializer(name: str, default: Any) -> Any:
    """The kernel initialiser `model.init` names; 'default' is the network's own `default`."""
    if name == "glorot_uniform":
        return nn.initializers.glorot_uniform()
    if name == "glorot_normal":
        return nn.initializers.variance_scaling(1.0, "fan_avg", "normal")
    if name == "normal_0.02":
        return DCGAN_INIT
    if name != "default":
        raise ValueError(f"init must be one of {INITS}, got {name!r}")
    return default


def generator_output(h: jax.Array, output: str, data_range: str) -> jax.Array:
    """G's last pre-activation -> images in [-1, 1] float32: the `output` head, whose values
    are in `data_range`, then mapped to gan_jax's range."""
    return to_model_range_from(OUTPUTS[output](h), data_range).astype(jnp.float32)


def discriminator_input(x: jax.Array, data_range: str, dtype: Any) -> jax.Array:
    """D's input: images in [-1, 1] mapped to the networks' `data_range`."""
    return from_model_range(x.astype(jnp.float32), data_range).astype(dtype)


def upsample2x(h: jax.Array, method: str) -> jax.Array:
    """(B, H, W, C) -> (B, 2H, 2W, C): nearest repeats each pixel 2x2 (UpSampling2D), bilinear
    interpolates with half-pixel centres (UpSampling2D(interpolation='bilinear'))."""
    if method == "nearest":
        return jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)
    if method != "bilinear":
        raise ValueError(f"upsample must be one of {UPSAMPLE}, got {method!r}")
    b, height, width, c = h.shape
    return jax.image.resize(h, (b, 2 * height, 2 * width, c), "bilinear").astype(h.dtype)


def max_pool2x(h: jax.Array) -> jax.Array:
    """2x2 max-pooling with stride 2 ('SAME': odd sizes round up, like a stride-2 SAME conv)."""
    return nn.max_pool(h, (2, 2), strides=(2, 2), padding="SAME")


def noise_key(z: jax.Array) -> jax.Array:
    """A PRNG key hashed from the bits of `z`: fresh for fresh noise, reproducible from it."""
    bits = jax.lax.bitcast_convert_type(z.astype(jnp.float32), jnp.uint32)
    mixed = jnp.sum(bits * jnp.uint32(2654435761), dtype=jnp.uint32) ^ jnp.uint32(len(z))
    return jax.random.fold_in(jax.random.PRNGKey(0), mixed)


def dropout(
    module: nn.Module,
    h: jax.Array,
    rate: float,
    kind: str,
    train: bool,
    z: jax.Array | None = None,
) -> jax.Array:
    """Dropout at `rate` in training mode: 'element' drops single activations, 'spatial' whole
    feature maps of (B, H, W, C) activations. The mask comes from the 'dropout' rng; a generator
    called without one (gan_jax's train step gives only D that rng) passes its input `z`, and
    the mask comes from `noise_key(z)` instead, fresh at every update because z is."""
    if rate <= 0:
        return h
    if kind not in DROPOUT_KINDS:
        raise ValueError(f"dropout kind must be one of {DROPOUT_KINDS}, got {kind!r}")
    dims = (1, 2) if kind == "spatial" and h.ndim == 4 else ()
    rng = None
    if train and z is not None and not module.has_rng("dropout"):
        rng = noise_key(z)
    return nn.Dropout(rate, broadcast_dims=dims, deterministic=not train)(h, rng=rng)
