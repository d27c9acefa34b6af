"""PacGAN packing: D's packed inputs against numpy concatenation, the packed MLP/DCGAN D against
the unpacked architecture fed numpy-packed inputs, penalties on packed inputs, 2 devices = 1
device, and the batch-size errors."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from helpers import d_terms, spec_state

from gan_jax import losses, models
from gan_jax.config import base_config, optimizer_config
from gan_jax.core.device_axis import DeviceAxis
from gan_jax.core.optim import make_optimizer
from gan_jax.core.regularizers import gradient_penalty, r1_penalty
from gan_jax.core.spec import GANSpec
from gan_jax.core.updates import d_regularizers
from gan_jax.errors import ConfigError
from gan_jax.models.packing import PackedDiscriminator, check_batch, pack_size
from gan_jax.training.parallel import Runner


def _np_pack(x, m):
    """Pack j = samples j·m … j·m+m−1 concatenated on the last axis (the PacGAN input)."""
    x = np.asarray(x)
    return np.stack([np.concatenate(list(x[j : j + m]), axis=-1) for j in range(0, len(x), m)])


def _np_pack_labels(y, m, k):
    return _np_pack(np.eye(k, dtype=np.float32)[np.asarray(y)], m)


class Probe(nn.Module):
    """Records what it is given and returns one zero per row."""

    @nn.compact
    def __call__(self, x, labels=None, train=True):
        self.sow("intermediates", "x", x)
        if labels is not None:
            self.sow("intermediates", "labels", labels)
        return jnp.zeros((x.shape[0],))


def _seen(m, x, labels=None, num_classes=0):
    d = PackedDiscriminator(Probe(), m, num_classes)
    _, state = d.apply({}, jnp.asarray(x), labels, mutable=["intermediates"])
    seen = state["intermediates"]
    return seen["x"][0], (seen["labels"][0] if labels is not None else None)


@pytest.mark.parametrize("shape", [(2,), (4, 4, 3)])
def test_identical_samples_give_d_their_concatenation(shape):
    one = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    x = np.broadcast_to(one, (8, *shape))
    seen, _ = _seen(4, x)
    expected = np.concatenate([one] * 4, axis=-1)
    np.testing.assert_array_equal(np.asarray(seen), np.stack([expected, expected]))


def test_distinct_samples_and_labels_are_packed_in_order():
    x = np.random.default_rng(1).normal(size=(6, 3, 3, 2)).astype(np.float32)
    y = np.array([0, 4, 2, 2, 1, 3], np.int32)
    seen_x, seen_y = _seen(3, x, jnp.asarray(y), num_classes=5)
    np.testing.assert_array_equal(np.asarray(seen_x), _np_pack(x, 3))
    np.testing.assert_array_equal(np.asarray(seen_y), _np_pack_labels(y, 3, 5))
    assert seen_x.shape == (2, 3, 3, 6) and seen_y.shape == (2, 15)


def _model(name, num_classes, pack):
    c = base_config().model
    c.name, c.latent_dim, c.g_width, c.d_width = name, 4, 8, 8
    c.num_classes, c.pack = num_classes, pack
    return c


@pytest.mark.parametrize(
    "name,shape,num_classes",
    [("mlp", (2,), 0), ("mlp", (2,), 3), ("dcgan", (28, 28, 1), 0), ("dcgan", (28, 28, 1), 3)],
)
def test_packed_d_is_the_wide_architecture_on_numpy_packed_inputs(name, shape, num_classes):
    m, batch = 2, 4
    _, packed = models.build(_model(name, num_classes, m), shape)
    # The same architecture built independently for m·C channels and m·K classes, no packing.
    wide_shape = (*shape[:-1], shape[-1] * m)
    _, wide = models.build(_model(name, num_classes * m, 1), wide_shape)
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (batch, *shape)).astype(np.float32)
    y = jnp.asarray(rng.integers(0, 3, batch), jnp.int32) if num_classes else None
    variables = packed.init(
        jax.random.PRNGKey(0), jnp.zeros((2, *shape)), None if y is None else y[:2]
    )
    wide_vars = wide.init(
        jax.random.PRNGKey(0),
        jnp.zeros((2, *wide_shape)),
        None if y is None else jnp.zeros((2,), jnp.int32),
    )
    assert jax.tree.map(jnp.shape, variables) == jax.tree.map(jnp.shape, wide_vars)
    out = packed.apply(variables, jnp.asarray(x), y, train=False)
    wide_y = None if y is None else jnp.asarray(_np_pack_labels(y, m, num_classes))
    expected = wide.apply(variables, jnp.asarray(_np_pack(x, m)), wide_y, train=False)
    assert out.shape == (batch // m,)
    np.testing.assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-6, atol=1e-6)


def _spec(pack, loss="bce", regularizer="none", num_classes=0):
    model = _model("mlp", num_classes, pack)
    model.num_layers, model.output = 2, "linear"
    stab = base_config().stabilizers
    stab.d_batchnorm = False
    g, d = models.build(model, (2,), stab)
    opt = optimizer_config(lr=0.1)
    opt.name = "sgd"
    tx = make_optimizer(opt, 10)
    terms = d_terms(regularizer, 5.0) if regularizer != "none" else ()
    return GANSpec(g, d, losses.get(loss), tx, tx, 4, num_classes, d_terms=terms)


@pytest.mark.parametrize("regularizer", ["r1", "gp"])
def test_penalties_are_taken_on_packed_inputs(regularizer):
    m = 2
    spec = _spec(m, regularizer=regularizer)
    state = spec_state(spec, (2,))
    rng = np.random.default_rng(3)
    x, fake = (jnp.asarray(rng.normal(size=(8, 2)), jnp.float32) for _ in range(2))
    key = jax.random.PRNGKey(5)
    _, got, _ = d_regularizers(
        spec, DeviceAxis(), state.d_params, {}, x, fake, None, key, jnp.asarray(0), {}
    )
    # Independently: the inner D on numpy-packed inputs, the penalty over packs (one GP weight
    # per pack, drawn like the step draws it).
    inner = spec.discriminator.inner

    def d_fn(packs):
        return inner.apply({"params": state.d_params}, packs, None, train=True)

    xp, fp = jnp.asarray(_np_pack(x, m)), jnp.asarray(_np_pack(fake, m))
    if regularizer == "r1":
        expected = r1_penalty(d_fn, xp)
    else:
        eps = jax.random.uniform(jax.random.split(key)[0], (4,))
        expected = gradient_penalty(d_fn, xp, fp, eps)
    np.testing.assert_allclose(float(got), float(expected), rtol=1e-5)


def _run(spec, mode, devices, batches):
    runner = Runner(spec, mode, devices)
    state = runner.place_state(spec_state(spec, (2,), spec.num_classes))
    rng = runner.place_rng(jax.random.PRNGKey(7))
    for b in batches:
        state, metrics = runner.step(state, runner.place_batch(b), rng)
    return jax.device_get(runner.host_state(state)), runner.host_metrics(metrics)


@pytest.mark.skipif(jax.device_count() < 2, reason="needs 2 (fake) CPU devices")
@pytest.mark.parametrize(
    "mode,loss,regularizer,num_classes",
    [("pmap", "ralsgan", "gp", 3), ("sharded", "bce", "r1", 0)],
)
def test_two_devices_match_one_device(mode, loss, regularizer, num_classes):
    spec = _spec(2, loss, regularizer, num_classes)
    rng = np.random.default_rng(4)
    batches = []
    for _ in range(2):
        b = {"x": rng.normal(size=(8, 2)).astype(np.float32)}
        if num_classes:
            b["y"] = rng.integers(0, num_classes, 8).astype(np.int32)
        batches.append(b)
    one, m1 = _run(spec, "sharded", jax.devices()[:1], batches)
    two, m2 = _run(spec, mode, jax.devices()[:2], batches)
    for a, b in zip(
        jax.tree.leaves((one.d_params, one.g_params)),
        jax.tree.leaves((two.d_params, two.g_params)),
        strict=True,
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    for k in m1:
        np.testing.assert_allclose(m1[k], m2[k], rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize(
    "pack,batch,devices,match",
    [
        (3, 8, 1, r"config.data.batch_size=8 is not a multiple of config.model.pack=3"),
        (2, 6, 2, r"per-device batch 3 .* use a batch size divisible by 4"),
    ],
)
def test_wrong_batch_sizes_are_one_line_config_errors(pack, batch, devices, match):
    with pytest.raises(ConfigError, match=match) as err:
        check_batch(pack, batch, devices)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_bad_pack_values_are_config_errors(value):
    with pytest.raises(ConfigError, match="config.model.pack"):
        pack_size(ml_collections.ConfigDict({"pack": value}))


def test_a_run_with_a_bad_pack_stops_before_writing(tmp_path):
    from helpers import tiny_config

    from gan_jax.tasks.gan import train_and_evaluate

    config = tiny_config("ring8", **{"model.pack": 3})
    with pytest.raises(ConfigError, match="model.pack=3"):
        train_and_evaluate(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
