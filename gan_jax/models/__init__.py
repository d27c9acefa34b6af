"""Model registry: `build(model_config, data_shape)` -> (generator, discriminator) flax modules.

Both networks are plain `flax.linen` Modules called as
`module.apply(variables, x_or_z, labels=None, train=True, mutable=[...])`; the generator returns
(B, *data_shape) float32 samples, the discriminator (B,) float32 raw logits. Parameters are
always float32; `model.dtype` only sets the computation dtype (mixed precision).

Each model family declares its `model.*` fields, defaults and builder beside its networks
(`gan_jax.models.family`): 'mlp' (`mlp.py`), 'dcgan' (`dcgan.py`), the walkthrough networks
'digits_mnist' and 'digits_celeba' (`digits.py`), 'ocaml_dcgan', 'keras_dcgan', 'faces'
(docs/walkthroughs.md), and 'progan' (`progan.py`, trained by `config.task='progan'`). Importing
this package registers them. Shared by every family: name, latent_dim, num_classes, dtype and
pack (PacGAN: D judges packs of m samples, `packing.py`); the discriminator stabilizers of the
`stabilizers` block (d_spectral_norm, d_dropout, d_batchnorm; `regularized.py`) shape every D.
docs/configs.md lists each family's fields.
"""

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import ml_collections

from gan_jax.errors import ConfigError
from gan_jax.models import (  # noqa: F401  (importing a family's module registers it)
    dcgan,
    digits,
    faces,
    family,
    keras_dcgan,
    mlp,
    ocaml_dcgan,
    packing,
    progan,
)
from gan_jax.models.regularized import DOptions

_DTYPES: dict[str, Any] = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}

names = family.names
model_config = family.model_config


def d_options(stabilizers: ml_collections.ConfigDict | None) -> DOptions:
    """The discriminator stabilizers of a config's `stabilizers` block (d_spectral_norm,
    d_dropout, d_batchnorm); None gives the defaults."""
    st = stabilizers or {}
    dropout = st.get("d_dropout", 0.0)
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"config.stabilizers.d_dropout={dropout} must be in [0, 1)")
    return DOptions(
        spectral_norm=bool(st.get("d_spectral_norm", False)),
        dropout=float(dropout),
        batchnorm=bool(st.get("d_batchnorm", True)),
    )


def build(
    model_config: Any,
    data_shape: Sequence[int],
    stabilizers: ml_collections.ConfigDict | None = None,
) -> tuple[nn.Module, nn.Module]:
    """Validates `model_config` and returns unbound (generator, discriminator) modules.

    `model_config` is a config's `model` block, as parsed (every family's fields, unset ones
    None) or resolved (`family.resolve`). `stabilizers` is the config's `stabilizers` block;
    its `d_*` fields shape the discriminator (see `d_options`). The generator does not depend
    on it. `data_shape` is (H, W, C) for images or (D,) for vectors. Raises ConfigError (one
    line, naming the bad value and the options) for unknown names, sizes or field values.
    """
    config = family.resolve(model_config)
    chosen = family.get(config.name)
    shape = tuple(int(d) for d in data_shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ConfigError(f"data shape must be (H, W, C) or (D,) with positive sizes, got {shape}")
    family.integer(config, "latent_dim", 1)
    family.integer(config, "num_classes", 0)
    dtype = _DTYPES[config.dtype]
    opts = d_options(stabilizers)
    gen, disc = chosen.build(config, shape, dtype, opts)
    inner = lambda cfg, shp: chosen.build(cfg, shp, dtype, opts)[1]  # noqa: E731
    return gen, packing.pack_discriminator(disc, config, shape, inner)
