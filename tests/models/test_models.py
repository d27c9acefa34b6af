"""Tests for gan_jax.models: registry errors, shapes, parameter counts, conditioning, BN, dtypes."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gan_jax import models
from gan_jax.errors import ConfigError
from gan_jax.models import dcgan, family

BATCH = 2
LATENT = 8


def make_config(name: str, **overrides) -> ml_collections.ConfigDict:
    """A `model` block of family `name` with small widths; the rest at the family's defaults."""
    fields = dict(name=name, latent_dim=LATENT, num_classes=0, dtype="float32")
    fields.update({k: 8 for k in ("g_width", "d_width") if k in family.get(name).fields})
    fields.update(overrides)
    return ml_collections.ConfigDict(fields)


def abstract_variables(module, *args):
    """Variable shapes and dtypes from the module's own `init`, traced but never compiled."""
    return jax.eval_shape(lambda: module.init(jax.random.key(0), *args, train=False))


def abstract_params(module, *args):
    return abstract_variables(module, *args)["params"]


def numpy_variables(module, *args, seed: int = 0):
    """Variables with `init`'s exact structure, filled by numpy.

    Compiling the random initialisers dominates this file's CPU time, so most tests build
    variables this way; `test_dcgan_init_distribution` covers the real initialisers.
    """
    rng = np.random.default_rng(seed)

    def fill(path, leaf):
        name = path[-1].key
        if name in ("scale", "var"):
            return np.ones(leaf.shape, np.float32)
        if name in ("bias", "mean"):
            return np.zeros(leaf.shape, np.float32)
        std = 1.0 / math.sqrt(math.prod(leaf.shape[:-1]))
        return rng.normal(0.0, std, leaf.shape).astype(np.float32)

    return jax.tree_util.tree_map_with_path(fill, abstract_variables(module, *args))


def variables_and_inputs(gen, disc, data_shape, labels=None, seed=0):
    """(g_vars, d_vars, z, x) with z ~ N(0, 1) and x ~ U(-1, 1), all as numpy arrays."""
    rng = np.random.default_rng(seed + 1)
    z = rng.normal(size=(BATCH, LATENT)).astype(np.float32)
    x = rng.uniform(-1.0, 1.0, size=(BATCH, *data_shape)).astype(np.float32)
    g_vars = numpy_variables(gen, z, labels, seed=seed)
    d_vars = numpy_variables(disc, x, labels, seed=seed + 2)
    return g_vars, d_vars, z, x


def matmul_operand_dtypes(jaxpr):
    """Operand dtypes of every dot_general / conv in `jaxpr`, including nested jaxprs."""
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in ("dot_general", "conv_general_dilated"):
            yield from (var.aval.dtype for var in eqn.invars)
        for param in eqn.params.values():
            inner = getattr(param, "jaxpr", param)
            if hasattr(inner, "eqns"):
                yield from matmul_operand_dtypes(inner)


def count(tree) -> int:
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree))


def test_names():
    walkthroughs = ["digits_celeba", "digits_mnist", "faces", "keras_dcgan", "ocaml_dcgan"]
    assert models.names() == sorted(["dcgan", "mlp", "progan", *walkthroughs])


def test_unknown_model_name():
    with pytest.raises(ConfigError) as info:
        models.build(make_config("foo"), (28, 28, 1))
    assert (
        str(info.value)
        == f"unknown model config.model.name='foo'; choose one of: {', '.join(models.names())}"
    )
    assert "dcgan, digits_celeba" in str(info.value)


@pytest.mark.parametrize("shape", [(48, 48, 3), (32, 64, 3), (2,), (16, 16, 1)])
def test_dcgan_unsupported_shape(shape):
    with pytest.raises(ConfigError, match=r"28, 32, 64, 128") as info:
        models.build(make_config("dcgan"), shape)
    assert str(shape) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "field, value", [("activation", "tanh"), ("output", "softmax"), ("dtype", "float16")]
)
def test_bad_choice_fields(field, value):
    with pytest.raises(ConfigError, match=f"model.{field}"):
        models.build(make_config("mlp", **{field: value}), (2,))


@pytest.mark.parametrize("field, value", [("g_width", 0), ("latent_dim", -1), ("num_classes", -2)])
def test_bad_int_fields(field, value):
    with pytest.raises(ConfigError, match=f"model.{field}"):
        models.build(make_config("dcgan", **{field: value}), (32, 32, 3))


SHAPE_CASES = [
    ("mlp", (2,)),
    ("mlp", (8, 8, 3)),
    ("dcgan", (28, 28, 1)),
    ("dcgan", (32, 32, 3)),
    ("dcgan", (64, 64, 3)),
    ("dcgan", (128, 128, 1)),
]


@pytest.mark.parametrize("num_classes", [0, 3])
@pytest.mark.parametrize("name, data_shape", SHAPE_CASES)
def test_output_shapes_dtypes_and_labels(name, data_shape, num_classes):
    gen, disc = models.build(make_config(name, num_classes=num_classes), data_shape)
    labels = jnp.array([0, 2], jnp.int32) if num_classes else None
    other_labels = jnp.array([1, 0], jnp.int32) if num_classes else None

    g_vars, d_vars, z, x = variables_and_inputs(gen, disc, data_shape, labels)

    @jax.jit  # one compile per case is cheaper than many small eager ones
    def run(g_vars, d_vars, z, x, labels, other_labels):
        images, _ = gen.apply(g_vars, z, labels, train=True, mutable=["batch_stats"])
        logits, _ = disc.apply(d_vars, images, labels, train=True, mutable=["batch_stats"])
        evals = [
            (gen.apply(g_vars, z, y, train=False), disc.apply(d_vars, x, y, train=False))
            for y in (labels, other_labels)
        ]
        return images, logits, evals

    images, logits, evals = run(g_vars, d_vars, z, x, labels, other_labels)
    is_bn = name == "dcgan"
    assert ("batch_stats" in g_vars) == is_bn and ("batch_stats" in d_vars) == is_bn
    assert images.shape == (BATCH, *data_shape) and images.dtype == jnp.float32
    assert jnp.all(jnp.abs(images) <= 1.0) and jnp.all(jnp.isfinite(images))
    assert logits.shape == (BATCH,) and logits.dtype == jnp.float32
    (g_a, d_a), (g_b, d_b) = evals
    assert d_a.shape == (BATCH,) and jnp.all(jnp.isfinite(d_a))
    if num_classes:  # every example's label changed, so every output must change
        assert jnp.all(jnp.max(jnp.abs(g_a - g_b).reshape(BATCH, -1), axis=1) > 1e-6)
        assert jnp.all(jnp.abs(d_a - d_b) > 1e-7)


def test_dcgan64_param_counts_match_pytorch():
    config = make_config("dcgan", latent_dim=100, g_width=64, d_width=64)
    gen, disc = models.build(config, (64, 64, 3))
    g_params = abstract_params(gen, jnp.zeros((1, 100)))
    d_params = abstract_params(disc, jnp.zeros((1, 64, 64, 3)))
    g_bn = count({k: v for k, v in g_params.items() if k.endswith("_bn")})
    d_bn = count({k: v for k, v in d_params.items() if k.endswith("_bn")})
    assert (count(g_params), g_bn) == (3_576_704, 1_920)
    assert (count(d_params), d_bn) == (2_765_568, 1_792)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves((g_params, d_params)))


@pytest.mark.parametrize("name, data_shape", SHAPE_CASES)
def test_label_reaches_every_layer(name, data_shape):
    """Each kernel of the conditional model has exactly one axis widened by the labels.

    That holds only if the one-hot is concatenated before every layer (the first D layer sees
    it through the image, the 28x28 D's Dense through the flattened tiled label).
    """
    k = 3
    z, x = jnp.zeros((1, LATENT)), jnp.zeros((1, *data_shape))
    labels = jnp.zeros((1,), jnp.int32)
    layers = {"num_layers": 2} if name == "mlp" else {}
    uncond = models.build(make_config(name, **layers), data_shape)
    cond = models.build(make_config(name, **layers, num_classes=k), data_shape)
    for module_u, module_c, inp in zip(uncond, cond, (z, x), strict=True):
        params_u = abstract_params(module_u, inp)
        params_c = abstract_params(module_c, inp, labels)
        assert count(params_c) > count(params_u)
        kernels = [layer for layer in params_u if "kernel" in params_u[layer]]
        assert kernels and set(kernels) == {n for n in params_c if "kernel" in params_c[n]}
        for layer in kernels:
            diff = np.subtract(params_c[layer]["kernel"].shape, params_u[layer]["kernel"].shape)
            widened = diff[diff != 0]
            assert widened.size == 1 and widened[0] > 0 and widened[0] % k == 0, layer


@pytest.mark.parametrize("name, data_shape", [("mlp", (2,)), ("dcgan", (32, 32, 3))])
def test_labels_required_iff_conditional(name, data_shape):
    gen, disc = models.build(make_config(name, num_classes=3), data_shape)
    with pytest.raises(ValueError, match="conditional"):
        gen.init(jax.random.key(0), jnp.zeros((BATCH, LATENT)), None, train=False)
    with pytest.raises(ValueError, match="conditional"):
        disc.init(jax.random.key(0), jnp.zeros((BATCH, *data_shape)), train=False)
    with pytest.raises(ValueError, match="shape"):
        gen.init(jax.random.key(0), jnp.zeros((BATCH, LATENT)), jnp.zeros((3,), jnp.int32))
    gen_u, _ = models.build(make_config(name), data_shape)
    with pytest.raises(ValueError, match="unconditional"):
        gen_u.init(jax.random.key(0), jnp.zeros((BATCH, LATENT)), jnp.zeros((BATCH,), jnp.int32))


def test_batchnorm_train_and_eval_modes():
    gen, disc = models.build(make_config("dcgan"), (32, 32, 3))

    g_vars, d_vars, z, x = variables_and_inputs(gen, disc, (32, 32, 3))

    @jax.jit
    def run(g_vars, d_vars, z, x):
        images, g_updates = gen.apply(
            g_vars,
            z,
            train=True,
            mutable=["batch_stats", "intermediates"],
            capture_intermediates=lambda module, _: module.name == "project",
        )
        stats = g_updates["batch_stats"]
        eval_images, eval_stats = gen.apply(g_vars, z, train=False, mutable=["batch_stats"])
        after = gen.apply({**g_vars, "batch_stats": stats}, z, train=False)
        pre_bn = g_updates["intermediates"]["project"]["__call__"][0]
        logits_train, d_updates = disc.apply(d_vars, x, train=True, mutable=["batch_stats"])
        logits_eval = disc.apply(d_vars, x, train=False)
        return dict(
            stats=stats,
            eval_stats=eval_stats["batch_stats"],
            images=images,
            eval_images=eval_images,
            after=after,
            pre_bn=pre_bn,
            logits_train=logits_train,
            logits_eval=logits_eval,
            d_stats=d_updates["batch_stats"],
        )

    out = run(g_vars, d_vars, z, x)
    init_stats, stats = g_vars["batch_stats"], out["stats"]
    assert jax.tree.structure(stats) == jax.tree.structure(init_stats)
    for old, new in zip(jax.tree.leaves(init_stats), jax.tree.leaves(stats), strict=True):
        assert not jnp.allclose(old, new)
    # PyTorch momentum 0.1: running_mean = 0.9 * 0 + 0.1 * batch_mean.
    batch_mean = jnp.mean(out["pre_bn"], axis=(0, 1, 2))
    np.testing.assert_allclose(stats["project_bn"]["mean"], 0.1 * batch_mean, rtol=1e-4, atol=1e-7)
    # Eval mode normalises with the running averages and leaves them untouched.
    assert not jnp.allclose(out["eval_images"], out["images"], atol=1e-5)
    np.testing.assert_equal(jax.device_get(out["eval_stats"]), init_stats)
    assert not jnp.allclose(out["after"], out["eval_images"], atol=1e-6)
    assert not jnp.allclose(out["logits_train"], out["logits_eval"], atol=1e-6)
    assert not jnp.allclose(out["d_stats"]["down1_bn"]["var"], 1.0)


@pytest.mark.parametrize("kernel, stride, torch_pad, n", [(4, 2, 1, 5), (4, 1, 0, 1)])
def test_conv_transpose_is_pytorch_geometry(kernel, stride, torch_pad, n):
    """The G's transposed conv is the exact adjoint of a PyTorch-padded conv (as in PyTorch)."""
    out_size = (n - 1) * stride - 2 * torch_pad + kernel
    conv = nn.Conv(3, (kernel, kernel), (stride, stride), ((torch_pad,) * 2,) * 2, use_bias=False)
    conv_t = dcgan._conv_t(  # the layer factory is the unit under test
        2, kernel, stride, dcgan._torch_padding(kernel, torch_pad), jnp.float32, "up"
    )
    big = jax.random.normal(jax.random.key(1), (1, out_size, out_size, 2))
    small = jax.random.normal(jax.random.key(2), (1, n, n, 3))
    params = conv.init(jax.random.key(0), big)
    out, vjp = jax.vjp(lambda a: conv.apply(params, a), big)
    assert out.shape == small.shape
    (adjoint,) = vjp(small)
    transposed = conv_t.apply(params, small)
    assert transposed.shape == (1, out_size, out_size, 2)
    np.testing.assert_allclose(transposed, adjoint, rtol=1e-5, atol=1e-5)


def test_mlp_output_and_layers():
    data_shape = (2,)
    lin_gen, _ = models.build(make_config("mlp", output="linear", num_layers=3), data_shape)
    tanh_gen, _ = models.build(make_config("mlp", num_layers=3), data_shape)
    z = 100.0 * jax.random.normal(jax.random.key(3), (BATCH, LATENT))
    variables = lin_gen.init(jax.random.key(0), z)
    assert set(variables["params"]) == {"hidden0", "hidden1", "hidden2", "to_data"}
    linear = lin_gen.apply(variables, z)
    assert jnp.max(jnp.abs(linear)) > 1.0
    np.testing.assert_allclose(tanh_gen.apply(variables, z), jnp.tanh(linear), rtol=1e-5)
    relu_gen, _ = models.build(
        make_config("mlp", output="linear", activation="relu", num_layers=3), data_shape
    )
    assert not jnp.allclose(relu_gen.apply(variables, z), linear)


@pytest.mark.parametrize("name, data_shape", [("mlp", (4, 4, 1)), ("dcgan", (28, 28, 1))])
def test_bfloat16_compute_float32_params(name, data_shape):
    gen, disc = models.build(make_config(name, dtype="bfloat16", num_classes=2), data_shape)
    labels = jnp.array([0, 1], jnp.int32)
    g_vars, d_vars, z, x = variables_and_inputs(gen, disc, data_shape, labels)
    abstract = (abstract_variables(gen, z, labels), abstract_variables(disc, x, labels))
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(abstract))

    def run(g_vars, d_vars, z, x, labels):
        images, _ = gen.apply(g_vars, z, labels, train=True, mutable=["batch_stats"])
        return images, disc.apply(d_vars, x, labels, train=False)

    images, logits = jax.jit(run)(g_vars, d_vars, z, x, labels)
    assert images.dtype == jnp.float32 and logits.dtype == jnp.float32
    assert images.shape == (BATCH, *data_shape) and logits.shape == (BATCH,)
    assert jnp.all(jnp.isfinite(images)) and jnp.all(jnp.isfinite(logits))
    # Every convolution and matmul of both networks runs in bfloat16.
    dtypes = list(matmul_operand_dtypes(jax.make_jaxpr(run)(g_vars, d_vars, z, x, labels).jaxpr))
    assert dtypes and set(dtypes) == {jnp.dtype(jnp.bfloat16)}


def test_dcgan_init_distribution():
    """Radford et al.: weights ~ N(0, 0.02); BN scale ~ N(1, 0.02) as in PyTorch's DCGAN."""
    gen, _ = models.build(make_config("dcgan", g_width=16), (32, 32, 3))
    params = jax.jit(lambda: gen.init(jax.random.key(0), jnp.zeros((BATCH, LATENT))))()["params"]
    kernels = np.concatenate([np.ravel(p["kernel"]) for p in params.values() if "kernel" in p])
    scales = np.concatenate([np.ravel(p["scale"]) for p in params.values() if "scale" in p])
    assert abs(kernels.std() - 0.02) < 0.002 and abs(kernels.mean()) < 0.002
    assert abs(scales.mean() - 1.0) < 0.01 and 0.01 < scales.std() < 0.03
    assert all(np.all(p["bias"] == 0) for p in params.values() if "bias" in p)
