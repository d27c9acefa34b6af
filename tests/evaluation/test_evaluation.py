"""Tests for the evaluation driver: metric/feature resolution, scoring plumbing checked with a
memorizing generator (samples = the reference images), periodic evaluation during training with
best-checkpoint tracking and pictures, and `experiments.evaluate` on a 2-D run."""

import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import FakeNet, run_module, tiny_config

import gan_jax
from gan_jax.errors import ConfigError
from gan_jax.evaluation import evaluator as evaluation
from gan_jax.evaluation.evaluator import Evaluator, resolve_features
from gan_jax.evaluation.offline import evaluate_checkpoint
from gan_jax.evaluation.registry import better, resolve_metrics
from gan_jax.tasks.gan import train_and_evaluate


class Table(nn.Module):
    """A generator that ignores z and returns rows of a stored table: a perfect memorizer."""

    table: np.ndarray

    @nn.compact
    def __call__(self, z, labels=None, train=False):
        return jnp.asarray(self.table)[jnp.arange(z.shape[0]) % len(self.table)]


@pytest.fixture()
def fake_net(monkeypatch):
    monkeypatch.setattr(evaluation, "load_feature_net", lambda kind, data: FakeNet(28 * 28))


def test_resolve_features_and_metrics():
    assert resolve_features("auto", (28, 28, 1)) == "classifier"
    assert resolve_features("auto", (32, 32, 3)) == "classifier"
    assert resolve_features("auto", (64, 64, 3)) == "inception"
    assert resolve_features("inception", (28, 28, 1)) == "inception"
    assert resolve_metrics("auto", True, "", False) == ("modes",)
    assert resolve_metrics("auto", False, "classifier", True) == (
        "fid",
        "kid",
        "pr",
        "pixel_chi2",
        "class",
    )
    assert resolve_metrics("auto", False, "inception", False) == (
        "fid",
        "kid",
        "pr",
        "pixel_chi2",
        "is",
    )
    assert resolve_metrics("fid, kid,fid", False, "classifier", False) == ("fid", "kid")
    with pytest.raises(ConfigError, match=r"^unknown metric 'fidd'; choose from: auto, fid"):
        resolve_metrics("fidd", False, "classifier", False)
    with pytest.raises(ConfigError, match="'modes' is for 2-D mixtures"):
        resolve_metrics("modes", False, "classifier", True)
    with pytest.raises(ConfigError, match="2-D mixtures are scored by modes only"):
        resolve_metrics("fid", True, "", False)
    with pytest.raises(ConfigError, match="'class' needs classifier features and a labelled"):
        resolve_metrics("class", False, "inception", True)


def test_better_directions():
    assert better("fid") == "min" and better("kid") == "min" and better("reverse_kl") == "min"
    assert better("is") == "max" and better("modes") == "max" and better("recall") == "max"
    with pytest.raises(ConfigError, match=r"best_metric='loss' is not a metric"):
        better("loss")


def _memorizer(digits_npz, num_samples, noise=0.0):
    config = tiny_config("mnist_dcgan", **{"data.source": f"npz:{digits_npz}"})
    config.evals.num_real = 32
    from gan_jax.data import make_source

    source = make_source(config.data)
    real, _ = evaluation.reference_examples(source, 32)
    table = real + noise * np.random.default_rng(0).normal(size=real.shape).astype(np.float32)
    ev = Evaluator(
        config, source, Table(np.clip(table, -1, 1)), 0, "fid,kid,pr,dc,pixel_chi2", num_samples
    )
    return ev, real


def test_memorizing_generator_scores_perfectly(digits_npz, fake_net):
    ev, real = _memorizer(digits_npz, 32)
    fake = ev.generate({})
    np.testing.assert_array_equal(fake, real)
    scores = ev.score(fake)
    assert set(scores) == set(ev.keys)
    assert abs(scores["fid"]) < 1e-3 * np.trace(np.cov(FakeNet(784).apply(real)["features"].T))
    assert scores["pixel_chi2"] == pytest.approx(0.0, abs=1e-12)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0 and scores["coverage"] == 1.0
    # The memorization check finds every sample's twin first.
    np.testing.assert_array_equal(ev.nearest_real(fake, 3)[:, 0], np.arange(32))
    picture = ev.nearest_picture(fake, rows=4, k=3)
    assert picture.shape[0] > picture.shape[1] / 4 * 3  # 4 rows of 1 + 3 tiles


def test_noisier_generator_scores_worse(digits_npz, fake_net):
    ev0, _ = _memorizer(digits_npz, 32)
    ev1, _ = _memorizer(digits_npz, 32, noise=0.5)
    good, bad = ev0.score(ev0.generate({})), ev1.score(ev1.generate({}))
    assert bad["fid"] > good["fid"] + 1.0
    assert bad["pixel_chi2"] > 0.01
    assert bad["kid"] > good["kid"]


def test_training_with_evals_keeps_best_and_draws_pictures(
    tmp_path, digits_npz, fake_net, monkeypatch
):
    from gan_jax.training import loop

    handed = []  # (scalars given to the asynchronous writer, a copy taken at the call)
    open_writer = loop._open_writer

    def recording(*args):
        writer, report = open_writer(*args)
        write = writer.write_scalars

        def write_scalars(step, scalars):
            handed.append((scalars, dict(scalars)))
            write(step, scalars)

        writer.write_scalars = write_scalars
        return writer, report

    monkeypatch.setattr(loop, "_open_writer", recording)
    workdir = tmp_path / "run"
    config = tiny_config(
        "mnist_dcgan",
        **{
            "data.source": f"npz:{digits_npz}",
            "train.num_steps": 4,
            "train.checkpoint_every": 2,
            "evals.every": 1,
            "evals.metrics": "fid,pixel_chi2",
            "evals.best_metric": "fid",
        },
    )
    metrics = train_and_evaluate(config, str(workdir))
    assert {"fid", "pixel_chi2", "d_real", "d_fake", "d_loss", "g_loss"} <= set(metrics)
    rows = [json.loads(line) for line in (workdir / "history.jsonl").read_text().splitlines()]
    fids = {r["step"]: r["fid"] for r in rows if "fid" in r}
    assert sorted(fids) == [1, 2, 3, 4]
    best_step = min(fids, key=fids.get)
    best = json.loads((workdir / "best" / "best.json").read_text())
    assert best == {"metric": "fid", "value": fids[best_step], "step": best_step, "mode": "min"}
    assert gan_jax.load(str(workdir / "best")).step == best_step
    for name in ("loss_curves.png", "progress.gif", "eval/nearest_step_000004.png"):
        assert os.path.getsize(workdir / name) > 100, name
    # The writer's thread may read a dict after the call: the loop must not change it later.
    assert handed and all(given == copy for given, copy in handed)


def test_history_drops_rows_past_the_resumed_step(tmp_path):
    from gan_jax.training.history import History

    h = History(str(tmp_path), 0)
    for step in (1, 2, 3):
        h.append(step, {"d_loss": float(step)})
    assert History(str(tmp_path), 2).series("d_loss") == ([1, 2], [1.0, 2.0])
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 2
    h = History(str(tmp_path), 2)
    h.append(3, {"d_loss": 9.0, "fid": 1.5})
    assert h.series("d_loss") == ([1, 2, 3], [1.0, 2.0, 9.0])
    assert h.plot() is not None and os.path.exists(tmp_path / "loss_curves.png")


@pytest.fixture(scope="module")
def ring8_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ring8")
    metrics = train_and_evaluate(tiny_config("ring8"), str(workdir))
    return workdir, metrics


def test_evaluate_reproduces_the_2d_metrics_of_the_run(ring8_run):
    workdir, metrics = ring8_run
    result = evaluate_checkpoint(str(workdir))
    assert result["step"] == 2 and result["num_samples"] == 2500
    for key in ("modes", "hq_fraction", "reverse_kl"):
        assert result[key] == pytest.approx(metrics[key], rel=1e-6, abs=1e-12), key
    assert os.path.exists(workdir / "eval" / "step_000002" / "scatter.png")


def test_evaluate_cli_json_and_errors(ring8_run, tmp_path):
    workdir, metrics = ring8_run

    def run(*args):
        return run_module("experiments.evaluate", *args)

    page = tmp_path / "results.md"
    page.write_text("kept\n")
    section = ("--results_page", str(page), "--results_section=ring", "--results_title=Ring")
    out = run(f"--workdir={workdir}", "--json", *section)
    assert out.returncode == 0, out.stderr[-2000:]
    text = page.read_text()
    assert text.startswith("kept\n\n<!-- results:ring -->\n### Ring\n")
    assert f"python -m experiments.evaluate --workdir=runs/{workdir.name} --json" in text
    assert "- evaluated: " in text and "- machine: " in text
    assert "Step 2, 2500 generated samples, features: 2-D protocol." in text
    assert "`data.source=ring8`" in text and "`seed=0`" in text and str(workdir) not in text
    assert f"| modes | {metrics['modes']:.4g} |" in text
    assert "modes" in out.stdout.splitlines()[1]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["modes"] == metrics["modes"] and result["step"] == 2
    for args, message in [
        ((f"--workdir={tmp_path}/nope",), "is not a folder"),
        ((f"--workdir={workdir}", "--step=7"), "has no checkpoint for step 7"),
        ((f"--workdir={workdir}", "--metrics=fid"), "2-D mixtures are scored by modes only"),
        ((f"--workdir={workdir}", f"--results_page={page}"), "go together; give both"),
    ]:
        bad = run(*args)
        assert bad.returncode == 2, bad.stderr
        assert bad.stderr.strip().splitlines()[-1].startswith("error: "), bad.stderr
        assert message in bad.stderr and "Traceback" not in bad.stderr


def test_sampling_helper_uses_ema_weights():
    from gan_jax.core.sampling import generator_variables

    class S:
        g_params = {"w": 1}
        g_ema_params = {"w": 2}
        g_batch_stats = {}

    assert generator_variables(S()) == {"params": {"w": 2}}
    S.g_ema_params = {}
    S.g_batch_stats = {"m": 0}
    assert generator_variables(S()) == {"params": {"w": 1}, "batch_stats": {"m": 0}}
    assert jax.tree.leaves(generator_variables(S()))


def test_missing_inception_weights_stop_the_run_before_anything_is_written(
    tmp_path, digits_npz, monkeypatch
):
    from gan_jax.errors import InputError

    monkeypatch.setenv("GAN_JAX_CACHE", str(tmp_path / "empty_cache"))
    workdir = tmp_path / "run"
    config = tiny_config(
        "mnist_dcgan",
        **{"data.source": f"npz:{digits_npz}", "evals.every": 1, "evals.features": "inception"},
    )
    with pytest.raises(InputError, match="convert_inception"):
        train_and_evaluate(config, str(workdir))
    assert not workdir.exists()
    config.evals.features = "classifier"
    config.evals.best_metric = "is"
    config.evals.metrics = "fid"
    with pytest.raises(
        ConfigError, match=r"best_metric='is' is not computed .* choose one of: fid"
    ):
        train_and_evaluate(config, str(workdir))
    assert not workdir.exists()


def test_evaluating_an_encoder_run_names_the_fix(cgan_encoder):
    from gan_jax.errors import CheckpointError

    workdir, _ = cgan_encoder
    with pytest.raises(CheckpointError, match="is an encoder run; evaluate the GAN run"):
        evaluate_checkpoint(str(workdir))
