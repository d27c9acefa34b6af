"""Strided convs differentiated by their adjoints (gan_jax/models/layers/adjoint_conv.py) give
the same values, gradients and second-order gradients as XLA's autodiff of `lax` convs; the Flax
layers and whole DCGANs built with `conv_grads='adjoint'` equal the plain ones; G's project layer
equals `nn.ConvTranspose`. (The XLA:CPU flags are tested in tests/test_platform_flags.py.)
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gan_jax.models import dcgan
from gan_jax.models.layers import adjoint_conv
from gan_jax.models.layers.conv_layers import StridedConv
from gan_jax.models.regularized import DOptions

DN = ("NHWC", "HWIO", "NHWC")

# (input H, W, kernel, stride, conv padding): DCGAN's 4x4 s2 p1 and 5x5 s2 SAME, inputs whose
# size the stride does not divide (rows the conv never reads), stride 3, asymmetric pads.
CONV_GEOMETRIES = [
    (8, 8, 4, 2, ((1, 1), (1, 1))),
    (7, 9, 5, 2, "SAME"),
    (9, 6, 3, 2, "VALID"),
    (10, 11, 3, 3, ((1, 2), (0, 2))),
    (8, 7, 4, 2, ((2, 0), (0, 1))),
]
# (input H, W, kernel, stride, lax.conv_transpose padding)
TRANSPOSE_GEOMETRIES = [
    (4, 4, 4, 2, ((2, 2), (2, 2))),
    (7, 5, 5, 2, "SAME"),
    (3, 4, 4, 2, "VALID"),
    (5, 3, 3, 2, "SAME"),
    (4, 5, 3, 3, ((1, 2), (0, 2))),
    (4, 4, 5, 2, ((4, 3), (3, 4))),
]


def _random(rng, shape):
    return jnp.asarray(rng.normal(size=shape), jnp.float32)


def _assert_grads_close(got, want, rtol=1e-4):
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(jnp.max(jnp.abs(b))))


@pytest.mark.parametrize("channels", [3, 16])  # < 16: XLA's own dx rule; >= 16: sub-pixel dx
@pytest.mark.parametrize("h,w,k,s,padding", CONV_GEOMETRIES)
def test_conv_matches_autodiff(h, w, k, s, padding, channels):
    rng = np.random.default_rng(h * 100 + w * 10 + k + channels)
    x, kernel = _random(rng, (2, h, w, channels)), _random(rng, (k, k, channels, 5))
    pads = adjoint_conv.conv_pads(x.shape, kernel.shape, (s, s), padding)

    def ref(x, kernel):
        return lax.conv_general_dilated(x, kernel, (s, s), padding, dimension_numbers=DN)

    def adj(x, kernel):
        return adjoint_conv.conv(x, kernel, (s, s), pads)

    y_ref, vjp_ref = jax.vjp(ref, x, kernel)
    y_adj, vjp_adj = jax.jit(lambda x, k: jax.vjp(adj, x, k))(x, kernel)
    np.testing.assert_allclose(y_adj, y_ref, rtol=1e-5, atol=1e-5)
    g = _random(rng, y_ref.shape)
    _assert_grads_close(vjp_adj(g), vjp_ref(g))


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("h,w,k,s,padding", TRANSPOSE_GEOMETRIES)
def test_conv_transpose_matches_autodiff(h, w, k, s, padding, split):
    rng = np.random.default_rng(h * 100 + w * 10 + k)
    x, kernel = _random(rng, (2, h, w, 6)), _random(rng, (k, k, 4, 6))
    pads = adjoint_conv.transpose_pads(kernel.shape, (s, s), padding)

    def ref(x, kernel):
        return lax.conv_transpose(
            x, kernel, (s, s), padding, dimension_numbers=DN, transpose_kernel=True
        )

    def adj(x, kernel):
        return adjoint_conv.conv_transpose(x, kernel, (s, s), pads, None, split)

    y_ref, vjp_ref = jax.vjp(ref, x, kernel)
    y_adj, vjp_adj = jax.vjp(adj, x, kernel)
    np.testing.assert_allclose(y_adj, y_ref, rtol=1e-5, atol=1e-5)
    g = _random(rng, y_ref.shape)
    _assert_grads_close(vjp_adj(g), vjp_ref(g))


def test_second_order_gradients_match_autodiff():
    """R1 / WGAN-GP differentiate an input gradient: d/dW ||d<f(x), c>/dx||^2."""
    rng = np.random.default_rng(0)
    x, c = _random(rng, (2, 8, 8, 16)), _random(rng, (2, 4, 4, 8))
    k_down, k_up = _random(rng, (4, 4, 16, 8)), _random(rng, (4, 4, 16, 8))
    y_up = _random(rng, (2, 4, 4, 8))
    pads, t_pads = ((1, 1), (1, 1)), ((2, 2), (2, 2))

    def penalty(f, inp, kernel, cot):
        grad_x = jax.grad(lambda v: jnp.sum(f(v, kernel) * cot))(inp)
        return jnp.sum(grad_x**2)

    cases = [
        (
            lambda v, k: adjoint_conv.conv(v, k, (2, 2), pads),
            lambda v, k: lax.conv_general_dilated(v, k, (2, 2), pads, dimension_numbers=DN),
            x,
            k_down,
            c,
        ),
        (
            lambda v, k: adjoint_conv.conv_transpose(v, k, (2, 2), t_pads),
            lambda v, k: lax.conv_transpose(
                v, k, (2, 2), t_pads, dimension_numbers=DN, transpose_kernel=True
            ),
            y_up,
            k_up,
            x,
        ),
    ]
    for adj, ref, inp, kernel, cot in cases:
        got = jax.grad(penalty, (1, 2))(adj, inp, kernel, cot)
        want = jax.grad(penalty, (1, 2))(ref, inp, kernel, cot)
        _assert_grads_close(got, want, rtol=2e-4)


def test_bfloat16_stays_bfloat16():
    rng = np.random.default_rng(1)
    x = _random(rng, (2, 8, 8, 16)).astype(jnp.bfloat16)
    kernel = _random(rng, (4, 4, 16, 8)).astype(jnp.bfloat16)
    pads = ((1, 1), (1, 1))
    y, vjp = jax.vjp(lambda a, b: adjoint_conv.conv(a, b, (2, 2), pads), x, kernel)
    dx, dk = vjp(jnp.ones_like(y))
    assert y.dtype == dx.dtype == dk.dtype == jnp.bfloat16
    ref = lax.conv_general_dilated(
        x.astype(jnp.float32), kernel.astype(jnp.float32), (2, 2), pads, dimension_numbers=DN
    )
    np.testing.assert_allclose(y.astype(jnp.float32), ref, rtol=0.05, atol=0.25)


@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize("padding", ["SAME", ((1, 1), (1, 1))])
def test_strided_conv_is_a_drop_in_for_nn_conv(padding, use_bias):
    kwargs = dict(features=5, kernel_size=(4, 4), strides=(2, 2), padding=padding)
    bias_init = nn.initializers.normal(1.0)
    ref = nn.Conv(use_bias=use_bias, bias_init=bias_init, **kwargs)
    layer = StridedConv(use_bias=use_bias, bias_init=bias_init, adjoint_grads=True, **kwargs)
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 9, 8, 16))
    params = ref.init(jax.random.PRNGKey(0), x)
    params_layer = layer.init(jax.random.PRNGKey(0), x)
    jax.tree.map(np.testing.assert_array_equal, params, params_layer)  # same tree, same init

    def loss(module, p):
        y = module.apply(p, x)
        return jnp.sum(y * jnp.cos(y)), y

    (l_ref, y_ref), g_ref = jax.value_and_grad(lambda p: loss(ref, p), has_aux=True)(params)
    (l_adj, y_adj), g_adj = jax.value_and_grad(lambda p: loss(layer, p), has_aux=True)(params)
    np.testing.assert_allclose(y_adj, y_ref, rtol=1e-5, atol=1e-5)
    _assert_grads_close(jax.tree.leaves(g_adj), jax.tree.leaves(g_ref))


@pytest.mark.parametrize(
    "size,num_classes,opts",
    [(28, 0, DOptions()), (32, 3, DOptions()), (64, 0, DOptions(spectral_norm=True))],
)
def test_whole_dcgan_gradients_equal_autodiff(size, num_classes, opts):
    """G(z) through D: every parameter gradient of both nets, adjoint vs plain autodiff."""
    shape = (size, size, 1 if size == 28 else 3)
    nets = {
        grads: dcgan.build(shape, 4, 4, num_classes, jnp.float32, opts, conv_grads=grads)
        for grads in ("adjoint", "autodiff")
    }
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 8))
    labels = jnp.arange(3) % num_classes if num_classes else None
    g_vars = nets["autodiff"][0].init(jax.random.PRNGKey(1), z, labels)
    x = nets["autodiff"][0].apply(g_vars, z, labels, mutable=["batch_stats"])[0]
    d_vars = nets["autodiff"][1].init(jax.random.PRNGKey(2), x, labels)

    def loss(gen, disc, g_params, d_params):
        img, _ = gen.apply({**g_vars, "params": g_params}, z, labels, mutable=["batch_stats"])
        logit, _ = disc.apply({**d_vars, "params": d_params}, img, labels, mutable=["batch_stats"])
        return jnp.sum(jnp.sin(3.0 * logit))

    grads = {
        name: jax.jit(jax.grad(loss, (2, 3)), static_argnums=(0, 1))(
            *nets[name], g_vars["params"], d_vars["params"]
        )
        for name in nets
    }
    adj, ref = jax.tree.leaves(grads["adjoint"]), jax.tree.leaves(grads["autodiff"])
    assert len(adj) == len(ref)
    _assert_grads_close(adj, ref, rtol=2e-4)


def test_project_layer_equals_conv_transpose():
    gen = dcgan.build((32, 32, 3), 4, 4, 0, jnp.float32)[0]
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 8))
    variables = gen.init(jax.random.PRNGKey(1), z, train=False)
    kernel = variables["params"]["project"]["kernel"]
    ref = nn.ConvTranspose(
        16, (4, 4), padding=((3, 3), (3, 3)), use_bias=False, transpose_kernel=True
    )
    ref_vars = ref.init(jax.random.PRNGKey(1), z[:, None, None, :])
    assert ref_vars["params"]["kernel"].shape == kernel.shape  # the same parameter
    got = dcgan._Project(16, 4).apply({"params": {"kernel": kernel}}, z[:, None, None, :])
    want = ref.apply({"params": {"kernel": kernel}}, z[:, None, None, :])
    assert got.shape == (3, 4, 4, 16)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
