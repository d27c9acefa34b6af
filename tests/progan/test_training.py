"""Progressive growing: the schedule, the networks' fade-in, the minibatch-stddev feature, and a
tiny 4 → 8 px run that is killed inside its fade-in and resumes bit-exactly."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_config, write_npz

import gan_jax
from gan_jax.errors import ConfigError
from gan_jax.models import progan
from gan_jax.progan.schedule import Phase, Schedule
from gan_jax.runs.restore import checkpoint_steps, read_subtrees
from gan_jax.tasks.progan import ProGANTask
from gan_jax.training import loop


def test_schedule_levels_and_alpha_by_hand():
    """3 levels, 4 steps per phase: 4 px [0, 4), fade to 8 px [4, 8), 8 px [8, 12), fade to
    16 px [12, 16), then 16 px for good."""
    s = Schedule(levels=3, phase_steps=4)
    expected = {0: (0, None), 3: (0, None), 4: (1, 4), 7: (1, 4), 8: (1, None), 12: (2, 12)}
    expected.update({15: (2, 12), 16: (2, None), 100: (2, None)})
    for step, (level, fade_start) in expected.items():
        assert s.phase(step) == Phase(level, fade_start), step
    assert [s.alpha(t) for t in (3, 4, 5, 6, 7, 8, 14)] == [1, 0, 0.25, 0.5, 0.75, 1, 0.5]
    assert s.grown_steps == 16 and s.phase(13).resolution == 16
    with pytest.raises(ConfigError, match="phase_images=10"):
        Schedule.from_images(3, 10, 4)


def test_minibatch_stddev_matches_the_papers_formula():
    x = np.random.default_rng(0).normal(size=(8, 3, 3, 5))
    out = np.asarray(progan.minibatch_stddev(jnp.asarray(x, jnp.float32), 4))
    np.testing.assert_array_equal(out[..., :5], x.astype(np.float32))
    groups = x.reshape(4, 2, 3, 3, 5)  # image b is in group b mod 2
    per_group = np.sqrt(groups.var(axis=0) + 1e-8).mean(axis=(1, 2, 3))
    for b in range(8):
        np.testing.assert_allclose(out[b, :, :, 5], per_group[b % 2], rtol=1e-5)


def test_fade_in_endpoints_are_the_lower_and_the_new_level():
    """α = 0 reproduces the previous level (G: upsampled, D: on pooled images), α = 1 the new
    one, and α in between is the linear blend."""
    g = progan.ProGenerator(8, 3, fmap_base=16, fmap_max=8)
    d = progan.ProDiscriminator(8, fmap_base=16, fmap_max=8)
    z = jax.random.normal(jax.random.PRNGKey(1), (4, 6))
    x = jax.random.normal(jax.random.PRNGKey(2), (4, 8, 8, 3))
    gv = jax.jit(g.init)(jax.random.PRNGKey(3), z)
    dv = jax.jit(d.init)(jax.random.PRNGKey(4), x)
    gen = jax.jit(lambda a, lvl: g.apply(gv, z, level=lvl, alpha=a), static_argnums=1)
    disc = jax.jit(lambda im, a, lvl: d.apply(dv, im, level=lvl, alpha=a), static_argnums=2)
    low, high = progan.upsample(gen(None, 0)), gen(None, 1)
    np.testing.assert_allclose(gen(0.0, 1), low, atol=1e-6)
    np.testing.assert_allclose(gen(1.0, 1), high, atol=1e-6)
    np.testing.assert_allclose(gen(0.25, 1), 0.75 * low + 0.25 * high, atol=1e-5)
    np.testing.assert_allclose(disc(x, 0.0, 1), disc(progan.downsample(x), None, 0), atol=1e-5)
    np.testing.assert_allclose(disc(x, 1.0, 1), disc(x, None, 1), atol=1e-5)


class _Killed(Exception):
    pass


def _leaves(workdir, step):
    tree = read_subtrees(workdir, step, lambda t: ["g_params", "d_params", "g_ema_params"])
    full = read_subtrees(workdir, step, lambda t: sorted(t))
    return tree, jax.tree_util.tree_flatten_with_path(full)[0]


def _check_equalized_lr(params):
    """Every wscale constant is still gain/sqrt(fan_in) of its conv (it never trains)."""
    for name, block in params.items():
        kh, kw, cin, _ = block["conv"]["kernel"].shape
        gain = 1.0 if name.startswith("to_rgb") or name == "out_score" else np.sqrt(2.0)
        expected = np.float32(gain / np.sqrt(kh * kw * cin))
        np.testing.assert_array_equal(block["wscale"]["scale"], [expected], err_msg=name)


def test_killed_inside_fade_in_resumes_bit_exactly_and_samples_every_resolution(tmp_path):
    """2 steps per phase: 4 px for steps 0-1, then the fade-in to 8 px, steps 2-3. The run dies
    at step 4 before its checkpoint; its last checkpoint is step 3 (α = 0.5 for the next step),
    from which it resumes. One task runs all three runs, so each phase compiles once."""
    source = write_npz(str(tmp_path / "faces.npz"), (8, 8, 3), n=32)
    config = tiny_config("progan_anime64", **{"data.source": source, "train.num_steps": 4})
    task = ProGANTask(config, str(tmp_path / "full"))
    assert task.schedule.phase(3) == Phase(1, 2) and task.schedule.alpha(3) == 0.5
    loop.train(task, str(tmp_path / "full"))

    pictures = task.pictures

    def killed_at_4(step, state, writer):
        if step == 4:
            raise _Killed
        return pictures(step, state, writer)

    task.workdir = str(tmp_path / "resumed")
    task.pictures = killed_at_4
    with pytest.raises(_Killed):
        loop.train(task, task.workdir)
    assert checkpoint_steps(task.workdir) == [3]
    task.pictures = pictures
    loop.train(task, task.workdir)

    (params, a), (_, b) = _leaves(str(tmp_path / "full"), 4), _leaves(task.workdir, 4)
    assert [p for p, _ in a] == [p for p, _ in b] and len(a) > 50
    for (path, x), (_, y) in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=jax.tree_util.keystr(path))
    for tree in params.values():
        _check_equalized_lr(tree)
    gen = gan_jax.load(str(tmp_path / "full"))
    z = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    expected = task.generator.apply({"params": params["g_ema_params"]}, z)
    np.testing.assert_allclose(gen.sample(z=z), expected, atol=2e-5)
    for run in ("full", "resumed"):
        assert set(os.listdir(tmp_path / run / "resolutions")) == {"4x4.png", "8x8.png"}
        assert sorted(os.listdir(tmp_path / run / "samples")) == [
            "step_000002.png",
            "step_000004.png",
        ]


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"loss": "bce"}, "progan trains with 'wgan'"),
        ({"data.image_size": 12}, "power of two"),
        ({"train.sample_every": 3}, "must divide the 2 steps of a phase"),
        ({"progan.phase_images": 6}, "multiple of config.data.batch_size=4"),
        ({"train.steps_per_dispatch": 2}, "steps_per_dispatch=2: progan runs do not read it"),
    ],
)
def test_bad_configs_are_one_line_errors_writing_nothing(tmp_path, override, match):
    source = write_npz(str(tmp_path / "faces.npz"), (8, 8, 3), n=8)
    config = tiny_config("progan_anime64", **{"data.source": source, **override})
    with pytest.raises(ConfigError, match=match) as e:
        ProGANTask(config, str(tmp_path / "run"))
    assert "\n" not in str(e.value) and not (tmp_path / "run").exists()
