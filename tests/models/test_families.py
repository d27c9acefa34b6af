"""The model families' schemas (`gan_jax.models.family`): resolution, refusals naming the owner,
migration of old config.json model blocks, and each builder's parameter-count formula."""

import importlib
import math
import re

import jax
import jax.numpy as jnp
import ml_collections
import pytest

from gan_jax import models
from gan_jax.config import base_config, migrate
from gan_jax.errors import ConfigError
from gan_jax.models import dcgan, digits, faces, family, keras_dcgan, mlp, ocaml_dcgan, progan
from gan_jax.tasks import resolved


def _counts(g, d, latent, shape, num_classes=0):
    labels = jnp.zeros((2,), jnp.int32) if num_classes else None
    z, x = jnp.zeros((2, latent)), jnp.zeros((2, *shape))
    gv = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), z, labels, train=False))
    dv = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), x, labels, train=False))
    size = lambda tree: sum(math.prod(a.shape) for a in jax.tree.leaves(tree))  # noqa: E731
    return size(gv["params"]), size(dv["params"])


def test_the_parse_time_block_has_every_family_field_unset():
    block = base_config().model
    for name in models.names():
        for field in family.get(name).fields:
            assert block[field] is None, (name, field)
    assert (block.name, block.latent_dim, block.pack) == ("dcgan", 100, 1)


def test_resolve_keeps_the_familys_fields_with_their_defaults():
    block = base_config().model
    block.name, block.num_layers = "mlp", 3
    out = family.resolve(block)
    assert set(out) == set(family.SHARED) | set(mlp.FAMILY.fields)
    assert (out.num_layers, out.output, out.g_width, out.activation) == (
        3,
        "tanh",
        64,
        "leaky_relu",
    )
    keras = family.resolve({**base_config().model.to_dict(), "name": "keras_dcgan"})
    assert (keras.upsample, keras.output) == ("nearest", "sigmoid")  # its own defaults
    assert family.resolve({"name": "dcgan"}).upsample == "auto"


@pytest.mark.parametrize(
    "name, field, value, owners",
    [
        ("dcgan", "d_maxout", 5, "'mlp'"),
        ("progan", "latent_prior", "uniform", "'dcgan' / 'digits_celeba' / 'digits_mnist'"),
        ("mlp", "fmap_base", 16, "'progan'"),
        ("faces", "upsample", "nearest", "'dcgan' / 'keras_dcgan'"),
    ],
)
def test_another_familys_field_is_one_line_naming_its_owners(name, field, value, owners):
    block = base_config().model
    block.name, block[field] = name, value
    with pytest.raises(ConfigError) as err:
        models.build(block, (64, 64, 3))
    message = str(err.value)
    assert f"config.model.{field}={value!r} belongs to model.name={owners}" in message
    assert f"not {name!r}" in message and "\n" not in message


def test_unknown_family_and_bad_choice_are_one_line():
    with pytest.raises(
        ConfigError, match="unknown model config.model.name='resnet'; choose one of: dcgan"
    ):
        family.resolve({"name": "resnet"})
    with pytest.raises(ConfigError, match=r"model.upsample='nearest' is not valid for model.name="):
        family.resolve({"name": "dcgan", "upsample": "nearest"})
    with pytest.raises(ConfigError, match="not a field of any model family"):
        family.resolve({"name": "dcgan", "fmap_max": 3})


def test_a_family_switch_on_the_parsed_config_takes_the_new_familys_defaults():
    config = importlib.import_module("experiments.configs.celeba64").get_config()
    config.model.name = "digits_celeba"
    out = resolved(config).model
    assert set(out) == set(family.SHARED) | set(digits.CELEBA_FAMILY.fields)
    assert out.output == "tanh"


def test_old_config_json_model_blocks_are_pruned_to_their_family():
    """A run written before the schemas stored every family's fields, with values."""
    old = base_config().to_dict()
    old["model"] = {
        **{k: f.default for k, f in family.SHARED.items()},
        "name": "dcgan",
        "g_width": 32,
        "d_width": 16,
        "num_layers": 1,
        "activation": "leaky_relu",
        "output": "tanh",
        "upsample": "subpixel",
        "conv_grads": "adjoint",
        "d_pool": "stride",
    }
    model = migrate(old)["model"]
    assert model == {
        **{k: f.default for k, f in family.SHARED.items()},
        "g_width": 32,
        "d_width": 16,
        "upsample": "subpixel",
        "conv_grads": "adjoint",
        "latent_prior": "normal",
    }
    assert family.resolve(model).to_dict() == model


def test_a_clashing_field_type_is_refused_at_registration():
    bad = family.Family("clash", {"g_width": family.Field("wide", "a string")}, None, "")
    with pytest.raises(ValueError, match="model.g_width is a str in 'clash' but a int"):
        family.register(bad)
    assert "clash" not in models.names()


def _mlp_formula(z, k, w, layers, n, bn, v, pieces, d_layers):
    b = 2 if bn else 1
    g = (z + k) * w + (layers - 1) * (w + k) * w + layers * b * w + (w + k) * n + n
    p = max(pieces, 1)
    d = (n + k + 1) * v * p + (d_layers - 1) * (v + k + 1) * v * p + v + k + 1
    return g, d


@pytest.mark.parametrize(
    "fields",
    [
        dict(latent_dim=2, g_width=256, d_width=256, num_layers=3),  # ring8: the docstring's
        dict(latent_dim=5, g_width=7, d_width=9, num_layers=2, num_classes=3, g_batchnorm=True),
        dict(latent_dim=2, g_width=4, d_width=6, num_layers=4, d_num_layers=2, d_maxout=5),
    ],
)
def test_the_mlp_parameter_formula(fields):
    block = family.model_config("mlp", **fields)
    g, d = models.build(block, (2,))
    expected = _mlp_formula(
        block.latent_dim, block.num_classes, block.g_width, block.num_layers, 2,
        block.g_batchnorm, block.d_width, block.d_maxout, block.d_num_layers or block.num_layers,
    )  # fmt: skip
    assert _counts(g, d, block.latent_dim, (2,), block.num_classes) == expected
    if fields["g_width"] == 256:
        assert "G 132,866, D 132,609" in " ".join(mlp.build.__doc__.split())


def _dcgan_formula(z, k, w, v, c, size):
    if size == 28:
        g = 196 * (z + k) * w + 392 * w + 50 * (4 * w + k) * w + 4 * w
        g += 25 * (2 * w + k) * w + 2 * w + 25 * (w + k) * c
        d = 25 * (c + k) * v + v + 50 * (v + k) * v + 4 * v + 49 * (2 * v + k) + 1
        return g, d
    u = int(math.log2(size)) - 3
    g = 16 * (z + k) * w * 2**u + 2 * w * 2**u + 16 * (w + k) * c
    g += sum(16 * (w * 2 ** (u - i) + k) * w * 2 ** (u - 1 - i) + 2 * w * 2 ** (u - 1 - i)
             for i in range(u))  # fmt: skip
    d = 16 * (c + k) * v + 16 * (v * 2**u + k)
    d += sum(16 * (v * 2 ** (i - 1) + k) * v * 2**i + 2 * v * 2**i for i in range(1, u + 1))
    return g, d


@pytest.mark.parametrize(
    "size, channels, k, w, v",
    [(64, 3, 0, 64, 64), (32, 3, 4, 8, 6), (128, 1, 0, 4, 5), (28, 1, 10, 8, 4)],
)
def test_the_dcgan_parameter_formula(size, channels, k, w, v):
    block = family.model_config("dcgan", latent_dim=100, num_classes=k, g_width=w, d_width=v)
    shape = (size, size, channels)
    g, d = models.build(block, shape)
    assert _counts(g, d, 100, shape, k) == _dcgan_formula(100, k, w, v, channels, size)


@pytest.mark.parametrize(
    "config, shape, builder",
    [
        ("digits_mnist", (28, 28, 1), digits.build_mnist),
        ("digits_celeba", (64, 64, 3), digits.build_celeba),
        ("ocaml_mnist_dcgan", (28, 28, 1), ocaml_dcgan.build),
        ("keras_dcgan", (28, 28, 1), keras_dcgan.build),
        ("faces_gan", (64, 64, 3), faces.build_model),
        ("celeba64", (64, 64, 3), dcgan.build_family),
    ],
)
def test_the_counts_in_the_builders_docstrings(config, shape, builder):
    c = resolved(importlib.import_module(f"experiments.configs.{config}").get_config())
    g, d = models.build(c.model, shape, c.stabilizers)
    counts = _counts(g, d, c.model.latent_dim, shape, c.model.num_classes)
    doc = " ".join(builder.__doc__.split())
    found = re.findall(r"G ([\d,]+), D ([\d,]+)", doc) or re.findall(
        r"([\d,]{9,}) and ([\d,]+)", doc
    )
    assert (f"{counts[0]:,}", f"{counts[1]:,}") in found, (config, counts)


def test_progans_docstring_count():
    c = resolved(importlib.import_module("experiments.configs.progan_anime64").get_config())
    g, d = models.build(c.model, (64, 64, 3))
    counts = _counts(g, d, c.model.latent_dim, (64, 64, 3))
    assert f"G {counts[0]:,}, D {counts[1]:,}" in " ".join(progan.build.__doc__.split())


def test_every_family_documents_its_parameters():
    for name in models.names():
        doc = " ".join((family.get(name).build.__doc__ or "").split())
        assert "arameters" in doc, name
        assert isinstance(family.get(name).fields, dict | ml_collections.ConfigDict)
