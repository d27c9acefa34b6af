"""Strided convs differentiated by their adjoints (gan_jax/models/layers/adjoint_conv.py) give
the same values, gradients and second-order gradients as XLA's autodiff of `lax` convs; the Flax
layers and whole DCGANs built with `conv_grads='adjoint'` equal the plain ones; G's project layer
equals `nn.ConvTranspose`; `import gan_jax` sets its XLA:CPU flags (gan_jax/platform/xla_cpu.py).
"""

import importlib.metadata
import os
import subprocess
import sys

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
from gan_jax.platform import xla_cpu
from tests.helpers import ROOT

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


def test_xla_flags_are_appended_unless_the_user_chose(monkeypatch):
    monkeypatch.setattr(xla_cpu, "_backends_running", lambda: False)
    monkeypatch.setattr(xla_cpu, "_jaxlib_checked", lambda: True)
    monkeypatch.delenv(xla_cpu.OPT_OUT, raising=False)
    ynn, scheduler = (f"--{name}={value}" for name, value in xla_cpu.FLAGS.items())
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    assert xla_cpu.configure() == [ynn, scheduler]
    assert os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count=2 {ynn} {scheduler}"
    own = "--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"
    monkeypatch.setenv("XLA_FLAGS", own)
    assert xla_cpu.configure() == [scheduler]  # the user's YNN choice stays, the other is added
    assert os.environ["XLA_FLAGS"] == f"{own} {scheduler}"
    for blocked in (
        lambda: monkeypatch.setenv(xla_cpu.OPT_OUT, "1"),
        lambda: monkeypatch.setattr(xla_cpu, "_backends_running", lambda: True),
        lambda: monkeypatch.setattr(xla_cpu, "_jaxlib_checked", lambda: False),
    ):
        blocked()
        monkeypatch.setenv("XLA_FLAGS", "")
        assert xla_cpu.configure() == [] and os.environ["XLA_FLAGS"] == ""


PROBE = """
import gan_jax, jax, jax.numpy as jnp, os
x, w = jnp.ones((8, 16, 16, 32)), jnp.ones((4, 4, 32, 64))
conv = lambda x, w: jax.lax.conv_general_dilated(
    x, w, (2, 2), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
hlo = jax.jit(conv).lower(x, w).compile().as_text()
ynn = [line for line in hlo.splitlines() if "__ynn_fusion" in line and "conv" in line]
print("XLA_FLAGS=" + os.environ.get("XLA_FLAGS", ""), "YNN_CONV=" + str(bool(ynn)))
"""


@pytest.mark.parametrize(
    "version, checked",
    [
        ("0.10.2", True),
        ("0.11.0rc1", True),
        ("0.9.9", False),
        ("0.12.0", False),
        ("1.0.0", False),
        ("dev", False),
        (None, False),  # not installed
    ],
)
def test_jaxlib_version_decides_whether_flags_are_set(monkeypatch, version, checked):
    def fake_version(name):
        assert name == "jaxlib"
        if version is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return version

    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    assert xla_cpu._jaxlib_checked() is checked
    monkeypatch.setattr(xla_cpu, "_backends_running", lambda: False)
    monkeypatch.delenv(xla_cpu.OPT_OUT, raising=False)
    monkeypatch.setenv("XLA_FLAGS", "")
    assert bool(xla_cpu.configure()) is checked


def test_installed_jaxlib_is_one_whose_flags_were_checked():
    """Fails (rather than skipping the probe below) when jaxlib moves to a release gan_jax has
    not checked: gan_jax then sets no XLA:CPU flags at all and loses their speed-up silently."""
    version = importlib.metadata.version("jaxlib")
    assert xla_cpu._jaxlib_checked(), (
        f"jaxlib {version} is not in gan_jax.platform.xla_cpu.CHECKED_JAXLIB "
        f"{xla_cpu.CHECKED_JAXLIB}: check that it parses xla_cpu.FLAGS (run "
        "test_import_moves_cpu_convolutions_off_ynnpack with it added) and add it, or drop flags "
        "it no longer knows"
    )


def test_import_moves_cpu_convolutions_off_ynnpack(tmp_path):
    """In a fresh process: `import gan_jax` before JAX starts gives Eigen convolutions; the
    opt-out keeps XLA's YNNPACK ones. (Not skipped on an unchecked jaxlib: see the test above.)"""
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", xla_cpu.OPT_OUT)}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))

    def probe(extra):
        cmd = [sys.executable, str(script)]
        out = subprocess.run(cmd, env={**env, **extra}, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    flags = " ".join(f"--{name}={value}" for name, value in xla_cpu.FLAGS.items())
    assert f"XLA_FLAGS={flags} YNN_CONV=False" in probe({})
    assert "XLA_FLAGS= YNN_CONV=True" in probe({xla_cpu.OPT_OUT: "1"})
