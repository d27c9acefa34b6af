"""Model registry: `build(model_config, data_shape)` -> (generator, discriminator) flax modules.

Both networks are plain `flax.linen` Modules called as
`module.apply(variables, x_or_z, labels=None, train=True, mutable=[...])`; the generator returns
(B, *data_shape) float32 samples, the discriminator (B,) float32 raw logits. Parameters are
always float32; `model.dtype` only sets the computation dtype (mixed precision).

Config fields (`model.*`): name ('mlp' | 'dcgan'), latent_dim, g_width, d_width, num_layers
(MLP hidden layers, default 1), activation (MLP: 'leaky_relu' | 'relu'), output (MLP: 'tanh' |
'linear'), num_classes (0 = unconditional), dtype ('float32' | 'bfloat16'), upsample (DCGAN G's
stride-2 transposed convs: 'subpixel' | 'transpose', same function and parameters, see
`subpixel.py`), conv_grads (how DCGAN's strided convs are differentiated: 'adjoint' |
'autodiff', same gradients, see `adjoint_conv.py`), and the discriminator stabilizers of
the `stabilizers` block: d_spectral_norm, d_dropout, d_batchnorm (see `regularized.py`).
"""

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import ml_collections

from gan_jax.errors import ConfigError
from gan_jax.models import dcgan, faces, mlp
from gan_jax.models.regularized import DOptions

_DTYPES: dict[str, Any] = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}

_Builder = Callable[
    [ml_collections.ConfigDict, tuple[int, ...], Any, DOptions], tuple[nn.Module, nn.Module]
]


def _choice(config: ml_collections.ConfigDict, field: str, default: str, options) -> str:
    value = config.get(field, default)
    if value not in options:
        raise ConfigError(
            f"unknown model.{field} {value!r}; choose one of: {', '.join(sorted(options))}"
        )
    return value


def _int(config: ml_collections.ConfigDict, field: str, minimum: int, default: int | None = None):
    value = config.get(field, default)
    if value is None:
        raise ConfigError(f"model.{field} is required")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"model.{field} must be an integer >= {minimum}, got {value!r}")
    return value


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


def _build_mlp(
    config: ml_collections.ConfigDict, data_shape: tuple[int, ...], dtype: Any, opts: DOptions
):
    num_layers = _int(config, "num_layers", 1, default=1)
    activation = _choice(config, "activation", "leaky_relu", mlp.ACTIVATIONS)
    output = _choice(config, "output", "tanh", mlp.OUTPUTS)
    num_classes = _int(config, "num_classes", 0, default=0)
    gen = mlp.MLPGenerator(
        data_shape,
        _int(config, "g_width", 1),
        num_layers=num_layers,
        activation=activation,
        output=output,
        num_classes=num_classes,
        dtype=dtype,
    )
    disc = mlp.MLPDiscriminator(
        _int(config, "d_width", 1),
        num_layers=num_layers,
        activation=activation,
        num_classes=num_classes,
        dtype=dtype,
        opts=opts,
    )
    return gen, disc


def _build_dcgan(
    config: ml_collections.ConfigDict, data_shape: tuple[int, ...], dtype: Any, opts: DOptions
):
    supported = ", ".join(str(s) for s in dcgan.SIZES)
    if len(data_shape) != 3 or data_shape[0] != data_shape[1] or data_shape[0] not in dcgan.SIZES:
        raise ConfigError(
            f"dcgan does not support data shape {data_shape}; it needs square (H, W, C) images "
            f"with H = W in {{{supported}}} (use model.name='mlp' for other shapes)"
        )
    return dcgan.build(
        data_shape,
        _int(config, "g_width", 1),
        _int(config, "d_width", 1),
        _int(config, "num_classes", 0, default=0),
        dtype,
        opts,
        _choice(config, "upsample", "subpixel", dcgan.UPSAMPLE),
        _choice(config, "conv_grads", "adjoint", dcgan.CONV_GRADS),
    )


_BUILDERS: dict[str, _Builder] = {"dcgan": _build_dcgan, "mlp": _build_mlp}
_BUILDERS["faces"] = faces.build_model  # the Torch faces post's networks (models/faces.py)


def names() -> list[str]:
    """Sorted names accepted by `model.name`."""
    return sorted(_BUILDERS)


def build(
    model_config: ml_collections.ConfigDict,
    data_shape: Sequence[int],
    stabilizers: ml_collections.ConfigDict | None = None,
) -> tuple[nn.Module, nn.Module]:
    """Validates `model_config` and returns unbound (generator, discriminator) modules.

    `stabilizers` is the config's `stabilizers` block; its `d_*` fields shape the discriminator
    (see `d_options`). The generator does not depend on it.

    `data_shape` is (H, W, C) for images or (D,) for vectors. Raises ConfigError (one line,
    naming the bad value and the options) for unknown names, sizes or field values.
    """
    name = model_config.get("name")
    if name not in _BUILDERS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(names())}")
    shape = tuple(int(d) for d in data_shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ConfigError(f"data shape must be (H, W, C) or (D,) with positive sizes, got {shape}")
    _int(model_config, "latent_dim", 1)
    dtype = _DTYPES[_choice(model_config, "dtype", "float32", _DTYPES)]
    return _BUILDERS[name](model_config, shape, dtype, d_options(stabilizers))
