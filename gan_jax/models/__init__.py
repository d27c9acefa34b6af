"""Model registry: `build(model_config, data_shape)` -> (generator, discriminator) flax modules.

Both networks are plain `flax.linen` Modules called as
`module.apply(variables, x_or_z, labels=None, train=True, mutable=[...])`; the generator returns
(B, *data_shape) float32 samples, the discriminator (B,) float32 raw logits. Parameters are
always float32; `model.dtype` only sets the computation dtype (mixed precision).

Config fields (`model.*`): name ('mlp' | 'dcgan' | the walkthrough networks 'digits_mnist',
'digits_celeba' (`digits.py`), 'ocaml_dcgan' (`ocaml_dcgan.py`), 'keras_dcgan' (`keras_dcgan.py`),
'faces' (`faces.py`); docs/walkthroughs.md; 'progan' (`progan.py`, trained by `gan_jax.progan`)),
pack (PacGAN: D judges packs of m samples, `packing.py`), latent_dim, g_width, d_width, num_layers
(MLP hidden layers, default 1), d_num_layers (the MLP D's own, 0 = num_layers), d_maxout (MLP D:
LinearMaxout pieces, 0 = off), g_batchnorm (MLP G: BatchNorm after each hidden Dense), activation
(MLP: 'leaky_relu' | 'relu'), output (MLP: 'tanh' | 'linear'), num_classes (0 = unconditional),
dtype ('float32' | 'bfloat16'), upsample (DCGAN G's stride-2 transposed convs: 'subpixel' |
'transpose', same function and parameters, see `subpixel.py`), conv_grads (how DCGAN's strided convs
are differentiated: 'adjoint' | 'autodiff', same gradients, see `adjoint_conv.py`), and the
discriminator stabilizers of the `stabilizers` block: d_spectral_norm, d_dropout, d_batchnorm (see
`regularized.py`). The walkthrough options (`heads.py`): latent_prior ('normal' | 'uniform', every
generator), output ('tanh' | 'sigmoid' | 'linear': MLP and walkthrough networks) with data_range
('auto' | '-1,1' | '0,1'), init (MLP and keras_dcgan: 'default' | 'glorot_uniform' | 'glorot_normal'
| 'normal_0.02'), g_dropout, dropout_kind, d_pool and upsample 'nearest' | 'bilinear' (keras_dcgan).
"""

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import ml_collections

from gan_jax.data.preprocess import resolve_data_range
from gan_jax.errors import ConfigError
from gan_jax.models import (
    dcgan,
    digits,
    faces,
    heads,
    keras_dcgan,
    mlp,
    ocaml_dcgan,
    packing,
    progan,
)
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


def _heads(config: ml_collections.ConfigDict, default_output: str) -> dict[str, str]:
    """G's output head and the networks' data range (validated against each other)."""
    output = _choice(config, "output", default_output, heads.OUTPUTS)
    try:
        data_range = resolve_data_range(config.get("data_range", "auto"), output)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return {"output": output, "data_range": data_range}


def _prior(config: ml_collections.ConfigDict) -> str:
    return _choice(config, "latent_prior", "normal", heads.LATENT_PRIORS)


def _build_mlp(
    config: ml_collections.ConfigDict, data_shape: tuple[int, ...], dtype: Any, opts: DOptions
):
    num_layers = _int(config, "num_layers", 1, default=1)
    d_num_layers = _int(config, "d_num_layers", 0, default=0) or num_layers
    d_maxout = _int(config, "d_maxout", 0, default=0)
    if d_maxout == 1:
        raise ConfigError("model.d_maxout=1 is a linear layer; use 0 (off) or >= 2 pieces")
    activation = _choice(config, "activation", "leaky_relu", mlp.ACTIVATIONS)
    head = _heads(config, "tanh")
    init = _choice(config, "init", "default", heads.INITS)
    num_classes = _int(config, "num_classes", 0, default=0)
    gen = mlp.MLPGenerator(
        data_shape,
        _int(config, "g_width", 1),
        num_layers=num_layers,
        activation=activation,
        num_classes=num_classes,
        dtype=dtype,
        latent_prior=_prior(config),
        weight_init=init,
        batchnorm=bool(config.get("g_batchnorm", False)),
        **head,
    )
    disc = mlp.MLPDiscriminator(
        _int(config, "d_width", 1),
        num_layers=d_num_layers,
        activation=activation,
        num_classes=num_classes,
        dtype=dtype,
        opts=opts,
        data_range=head["data_range"],
        weight_init=init,
        maxout=d_maxout,
    )
    return gen, disc


_MLP_ONLY = {"d_num_layers": 0, "d_maxout": 0, "g_batchnorm": False}  # field: its "off" value


def _mlp_only(config: ml_collections.ConfigDict, name: str) -> None:
    """ConfigError if an MLP-only switch is on for model `name`, which would silently ignore
    it (a run would not have the network its config says)."""
    for field, off in _MLP_ONLY.items():
        if config.get(field, off) != off:
            raise ConfigError(
                f"model.{field} applies only to model.name='mlp', not {name!r}; "
                f"set model.{field}={off}"
            )


def _image_shape(name: str, data_shape: tuple[int, ...], multiple: int, fixed: int = 0) -> None:
    """ConfigError unless `data_shape` is square (H, W, C) with H a multiple of `multiple`
    (or exactly `fixed`)."""
    ok = len(data_shape) == 3 and data_shape[0] == data_shape[1] and data_shape[0] % multiple == 0
    if not ok or (fixed and data_shape[0] != fixed):
        size = f"{fixed}x{fixed}" if fixed else f"square, with a side divisible by {multiple}"
        raise ConfigError(f"model.name={name!r} needs (H, W, C) images {size}, got {data_shape}")


def _unconditional(config: ml_collections.ConfigDict, name: str) -> None:
    if _int(config, "num_classes", 0, default=0):
        raise ConfigError(
            f"model.name={name!r} is unconditional (as its walkthrough); set model.num_classes=0"
        )


def _build_digits_mnist(config, data_shape, dtype, opts):
    _image_shape("digits_mnist", data_shape, 4)
    head, k = _heads(config, "sigmoid"), _int(config, "num_classes", 0, default=0)
    gen = digits.DigitsMNISTGenerator(
        data_shape, _int(config, "g_width", 1), k, dtype, latent_prior=_prior(config), **head
    )
    disc = digits.DigitsMNISTDiscriminator(
        data_shape, _int(config, "d_width", 1), k, dtype, data_range=head["data_range"], opts=opts
    )
    return gen, disc


def _build_digits_celeba(config, data_shape, dtype, opts):
    _image_shape("digits_celeba", data_shape, 16)
    _unconditional(config, "digits_celeba")
    head = _heads(config, "tanh")
    gen = digits.DigitsCelebAGenerator(
        data_shape, _int(config, "g_width", 1), 0, dtype, latent_prior=_prior(config), **head
    )
    disc = digits.DigitsCelebADiscriminator(
        data_shape, _int(config, "d_width", 1), 0, dtype, data_range=head["data_range"], opts=opts
    )
    return gen, disc


def _build_ocaml_dcgan(config, data_shape, dtype, opts):
    _image_shape("ocaml_dcgan", data_shape, 28, fixed=28)
    _unconditional(config, "ocaml_dcgan")
    head = _heads(config, "tanh")
    gen = ocaml_dcgan.OcamlDCGANGenerator(
        data_shape, _int(config, "g_width", 2), 0, dtype, latent_prior=_prior(config), **head
    )
    disc = ocaml_dcgan.OcamlDCGANDiscriminator(
        data_shape, _int(config, "d_width", 1), 0, dtype, data_range=head["data_range"], opts=opts
    )
    return gen, disc


def _build_keras_dcgan(config, data_shape, dtype, opts):
    _image_shape("keras_dcgan", data_shape, 4)
    _unconditional(config, "keras_dcgan")
    head = _heads(config, "sigmoid")
    init = _choice(config, "init", "default", heads.INITS)
    kind = _choice(config, "dropout_kind", "element", heads.DROPOUT_KINDS)
    g_dropout = config.get("g_dropout", 0.0)
    if not 0.0 <= g_dropout < 1.0:
        raise ConfigError(f"config.model.g_dropout={g_dropout} must be in [0, 1)")
    gen = keras_dcgan.KerasDCGANGenerator(
        data_shape,
        _int(config, "g_width", 2),
        0,
        dtype,
        latent_prior=_prior(config),
        weight_init=init,
        upsample=_choice(config, "upsample", "nearest", heads.UPSAMPLE),
        dropout=float(g_dropout),
        dropout_kind=kind,
        **head,
    )
    disc = keras_dcgan.KerasDCGANDiscriminator(
        data_shape,
        _int(config, "d_width", 1),
        0,
        dtype,
        data_range=head["data_range"],
        weight_init=init,
        pool=_choice(config, "d_pool", "stride", heads.D_POOL),
        dropout_kind=kind,
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
        _prior(config),
    )


_BUILDERS: dict[str, _Builder] = {
    "dcgan": _build_dcgan,
    "mlp": _build_mlp,
    "digits_mnist": _build_digits_mnist,
    "digits_celeba": _build_digits_celeba,
    "ocaml_dcgan": _build_ocaml_dcgan,
    "keras_dcgan": _build_keras_dcgan,
    "faces": faces.build_model,  # the Torch faces post's networks (models/faces.py)
    "progan": progan.build,  # Karras et al. 2018 (models/progan.py; trained by gan_jax.progan)
}


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
    opts = d_options(stabilizers)
    if name != "mlp":
        _mlp_only(model_config, name)
    gen, disc = _BUILDERS[name](model_config, shape, dtype, opts)
    inner = lambda cfg, shp: _BUILDERS[name](cfg, shp, dtype, opts)[1]  # noqa: E731
    return gen, packing.pack_discriminator(disc, model_config, shape, inner)
