"""The PacGAN/VEEGAN 2-D network switches of the MLP (`model.d_num_layers`, `model.d_maxout`,
`model.g_batchnorm`, `model.init='normal_0.02'`): the layers against numpy, BatchNorm's train and
eval modes, packing, the config checks and migration, one training run and 2 devices = 1."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from helpers import spec_state, tiny_config

from gan_jax import losses, models
from gan_jax.config import ADDED, base_config, migrate, optimizer_config
from gan_jax.core.optim import make_optimizer
from gan_jax.core.spec import GANSpec
from gan_jax.errors import ConfigError
from gan_jax.models import family, heads, keras_dcgan, mlp
from gan_jax.training.parallel import Runner

NEW_FIELDS = {"model.d_num_layers": 0, "model.d_maxout": 0, "model.g_batchnorm": False}


def _model(**fields) -> ml_collections.ConfigDict:
    """A small 2-D MLP model block with the paper's switches on, overridden by `fields`."""
    c = base_config().model
    c.name, c.latent_dim, c.g_width, c.d_width = "mlp", 4, 8, 6
    c.num_layers, c.d_num_layers, c.d_maxout, c.g_batchnorm = 3, 2, 3, True
    c.output, c.activation = "linear", "relu"
    for key, value in fields.items():
        c[key] = value
    return c


def test_max_pieces_groups_consecutive_outputs():
    h = jnp.arange(12.0)[None, :] * jnp.array([[1.0] * 6 + [-1.0] * 6])
    # units 0, 1: max of columns 0-2 and 3-5; units 2, 3 of the negated columns 6-8 and 9-11.
    np.testing.assert_array_equal(np.asarray(mlp.max_pieces(h, 3)), [[2.0, 5.0, -6.0, -9.0]])


def test_maxout_discriminator_equals_numpy():
    d = mlp.MLPDiscriminator(4, num_layers=2, maxout=3)
    x = np.random.default_rng(0).uniform(-1, 1, (5, 2)).astype(np.float32)
    variables = d.init(jax.random.PRNGKey(0), jnp.asarray(x), train=False)
    p = jax.tree.map(np.asarray, variables["params"])
    assert p["hidden0"]["kernel"].shape == (2, 12) and p["hidden1"]["kernel"].shape == (4, 12)
    h = x
    for name in ("hidden0", "hidden1"):
        pre = h @ p[name]["kernel"] + p[name]["bias"]
        h = np.stack([pre[:, j * 3 : j * 3 + 3].max(axis=1) for j in range(4)], axis=1)
    expected = (h @ p["logit"]["kernel"] + p["logit"]["bias"])[:, 0]
    got = d.apply(variables, jnp.asarray(x), train=False)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6)


def test_generator_batchnorm_train_and_eval_modes():
    g = mlp.MLPGenerator((2,), 8, num_layers=2, output="linear", batchnorm=True)
    z = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    variables = g.init(jax.random.PRNGKey(0), jnp.asarray(z), train=False)
    params, stats = variables["params"], variables["batch_stats"]
    assert set(params) == {"hidden0", "hidden0_bn", "hidden1", "hidden1_bn", "to_data"}
    assert set(params["hidden0"]) == {"kernel"}  # BN's shift replaces the Dense bias
    _, new = g.apply(variables, jnp.asarray(z), train=True, mutable=["batch_stats"])
    for a, b in zip(jax.tree.leaves(stats), jax.tree.leaves(new["batch_stats"]), strict=True):
        assert not np.allclose(np.asarray(a), np.asarray(b))

    def rows(company, train):
        batch = jnp.asarray(np.concatenate([z[:2], company]))
        out = g.apply(variables, batch, train=train, mutable=["batch_stats"] if train else False)
        return np.asarray(out[0] if train else out)[:2]

    # Eval mode uses the running statistics: the same z gives the same sample in any batch.
    np.testing.assert_array_equal(rows(z[2:4], False), rows(z[4:] * 3.0, False))
    assert not np.allclose(rows(z[2:4], True), rows(z[4:] * 3.0, True))  # batch statistics


def test_d_num_layers_sets_the_discriminators_hidden_layers():
    g, d = models.build(_model(), (2,))
    gv = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), jnp.zeros((2, 4)), train=False))
    dv = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), jnp.zeros((2, 2)), train=False))
    assert {k for k in gv["params"] if not k.endswith("_bn")} == {
        "hidden0",
        "hidden1",
        "hidden2",
        "to_data",
    }
    assert set(dv["params"]) == {"hidden0", "hidden1", "logit"}
    assert dv["params"]["hidden1"]["kernel"].shape == (6, 18)  # width 6 x 3 pieces
    _, d = models.build(_model(d_num_layers=0, d_maxout=0), (2,))
    dv = jax.eval_shape(lambda: d.init(jax.random.PRNGKey(0), jnp.zeros((2, 2)), train=False))
    assert set(dv["params"]) == {"hidden0", "hidden1", "hidden2", "logit"}  # = num_layers


def test_normal_002_init():
    w = np.asarray(heads.initializer("normal_0.02", None)(jax.random.PRNGKey(0), (400, 400)))
    assert abs(w.std() - 0.02) < 0.02 * 0.01 and abs(w.mean()) < 1e-3
    # Every network that honours model.init: the MLP and keras_dcgan.
    g, _ = models.build(_model(init="normal_0.02", g_width=400), (2,))
    gp = g.init(jax.random.PRNGKey(1), jnp.zeros((2, 4)), train=False)["params"]
    assert abs(float(gp["hidden1"]["kernel"].std()) - 0.02) < 0.02 * 0.01
    kd = keras_dcgan.KerasDCGANDiscriminator((8, 8, 1), 16, weight_init="normal_0.02")
    kp = kd.init(jax.random.PRNGKey(2), jnp.zeros((2, 8, 8, 1)), train=False)["params"]
    kernels = [np.asarray(v["kernel"]).ravel() for v in kp.values() if "kernel" in v]
    assert abs(np.concatenate(kernels).std() - 0.02) < 0.02 * 0.05


def test_packed_maxout_discriminator():
    _, d = models.build(_model(pack=2, d_maxout=5), (2,))
    x = jnp.asarray(np.random.default_rng(3).normal(size=(8, 2)), jnp.float32)
    variables = d.init(jax.random.PRNGKey(0), x[:2], train=False)
    assert variables["params"]["hidden0"]["kernel"].shape == (4, 30)  # 2 samples x 2 features
    out = d.apply(variables, x, train=True)
    assert out.shape == (4,) and bool(jnp.all(jnp.isfinite(out)))


@pytest.mark.parametrize(
    "name,fields,match",
    [
        ("mlp", {"d_maxout": 1}, "model.d_maxout=1 is a linear layer"),
        ("mlp", {"d_maxout": -2}, "model.d_maxout must be an integer >= 0"),
        ("mlp", {"d_num_layers": -1}, "model.d_num_layers must be an integer >= 0"),
        ("dcgan", {"d_maxout": 5}, "model.d_maxout=5 belongs to model.name='mlp', not 'dcgan'"),
        ("dcgan", {"g_batchnorm": True}, "model.g_batchnorm=True belongs to model.name='mlp'"),
        ("dcgan", {"d_num_layers": 3}, "model.d_num_layers=3 belongs to model.name='mlp'"),
    ],
)
def test_bad_values_are_one_line_config_errors(name, fields, match):
    config = _model() if name == "mlp" else base_config().model
    config.name = name
    config.update(fields)
    shape = (2,) if name == "mlp" else (28, 28, 1)
    with pytest.raises(ConfigError, match=match) as err:
        models.build(config, shape)
    assert "\n" not in str(err.value)


def test_old_configs_migrate_to_the_old_networks():
    assert {k: ADDED[k] for k in NEW_FIELDS} == NEW_FIELDS
    old = base_config().to_dict()
    old["model"] = {**family.prune({**old["model"], "name": "mlp"}), "num_layers": 3}
    for key in NEW_FIELDS:
        del old["model"][key.split(".")[1]]
    new = migrate(old)["model"]
    assert (new["d_num_layers"], new["d_maxout"], new["g_batchnorm"]) == (0, 0, False)
    assert new["num_layers"] == 3


def test_a_packed_paper_network_run_trains_and_samples(tmp_path):
    from gan_jax.tasks.gan import train_and_evaluate

    config = tiny_config("grid25_pacgan", **{"model.pack": 2})
    assert (config.model.d_maxout, config.model.g_batchnorm) == (5, True)
    metrics = train_and_evaluate(config, str(tmp_path / "run"))
    assert metrics["step"] == 2
    assert np.isfinite(metrics["d_loss"]) and np.isfinite(metrics["g_loss"])
    assert np.isfinite(metrics["modes"])  # sampled in eval mode, from G's running statistics


def _spec():
    g, d = models.build(_model(pack=2), (2,))
    opt = optimizer_config(lr=0.05)
    opt.name = "sgd"
    tx = make_optimizer(opt, 10)
    return GANSpec(g, d, losses.get("bce"), tx, tx, 4, 0)


def _run(spec, devices, batches):
    runner = Runner(spec, "sharded", devices)
    state = runner.place_state(spec_state(spec, (2,)))
    rng = runner.place_rng(jax.random.PRNGKey(7))
    for b in batches:
        state, _ = runner.step(state, runner.place_batch(b), rng)
    return jax.device_get(runner.host_state(state))


@pytest.mark.skipif(jax.device_count() < 2, reason="needs 2 (fake) CPU devices")
def test_sharded_two_devices_match_one_device():
    # jit over a sharded batch computes G's BatchNorm statistics over the global batch.
    spec = _spec()
    rng = np.random.default_rng(4)
    batches = [{"x": rng.normal(size=(8, 2)).astype(np.float32)} for _ in range(2)]
    one, two = _run(spec, jax.devices()[:1], batches), _run(spec, jax.devices()[:2], batches)
    initial = spec_state(spec, (2,)).g_batch_stats["hidden0_bn"]["mean"]
    assert not np.allclose(one.g_batch_stats["hidden0_bn"]["mean"], initial)  # the step updates
    for a, b in zip(
        jax.tree.leaves((one.g_params, one.d_params, one.g_batch_stats)),
        jax.tree.leaves((two.g_params, two.d_params, two.g_batch_stats)),
        strict=True,
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
