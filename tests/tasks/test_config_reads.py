"""Every field of every config is read by its task, or refused when set: none is silently ignored.

For each `experiments/configs/NAME.py:tiny` (on a small generated dataset), reads of its
ConfigDict blocks are recorded while the task is built, initialised, run for one step and
pictured. A read inside a `validate*` function does not count (a field that is only checked is
not used). Every leaf the task did not read must then be refused (ConfigError naming it) when
set to another value, by the task's constructor, which validates before anything is written.
Init and the step are traced, not compiled, and no picture is drawn, to keep this fast.

Exempt: the fields the training loop reads for every task and the pictures' count (`LOOP`),
the `evals` fields that `experiments.evaluate` reads after training when there are no periodic
evaluations (`AFTER_TRAINING`). The `model` block is walked as the run sees it: its family's
fields only (`gan_jax.tasks.resolved`).
"""

import contextlib
import copy
import importlib
import json
import os
import sys

import jax
import pytest
from absl import flags
from helpers import write_checkpoint, write_npz
from ml_collections import ConfigDict, config_flags

from experiments import cli
from gan_jax import tasks
from gan_jax.config import base_config
from gan_jax.errors import ConfigError
from gan_jax.progan.config import progan_config
from gan_jax.runs.run_files import CONFIG_FILE, recorded_config
from gan_jax.tasks.reads import check_absent

LOOP = {  # read by gan_jax.training.loop for every task, and by the first picture
    "seed",
    "train.num_samples",
    "data.batch_size",
    "data.prefetch",
    *(
        f"train.{f}"
        for f in ("num_steps", "log_every", "sample_every", "checkpoint_every", "keep_checkpoints")
    ),
}
AFTER_TRAINING = {f"evals.{f}" for f in ("metrics", "features", "num_samples", "num_real")} | {
    "evals.batch_size"
}
OTHER_STRINGS = {  # a valid value other than the default, per string field
    "skip_rule": "both",
    "tfds_data_dir": "/tmp/tfds",
    "labels": "subfolders",
    "dtype": "bfloat16",
    "best_metric": "fid",
    "policy": "color",
    "parallel": "pmap",
    "loss": "wgan",
}
ENCODER_GENERATORS = {"mnist_cgan_encoder": "mnist_cgan", "celeba64_encoder": "celeba64"}


def _leaves(node: ConfigDict, prefix: str = ""):
    for key, value in node.items():
        if isinstance(value, ConfigDict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _blocks(node: ConfigDict, prefix: str = "") -> dict[int, str]:
    """{id(block): its dotted prefix} for `node` and every block inside it."""
    out = {id(node): prefix}
    for key, value in node._fields.items():
        if isinstance(value, ConfigDict):
            out.update(_blocks(value, f"{prefix}{key}."))
    return out


def _in_validation() -> bool:
    """Whether a caller is a check: a `validate*` function that returns None (one that returns
    what it checked, like `core.augment.validate`, is how its caller reads the field)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_name
        if name.startswith("validate"):
            function = frame.f_globals.get(name)
            if getattr(function, "__annotations__", {}).get("return") == "None":
                return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def tracking(config: ConfigDict, reads: set[str]):
    """Record in `reads` the dotted leaves of `config` read outside validation (item access,
    attribute access, get and items all go through `__getitem__`; `to_dict` reads a block)."""
    blocks = _blocks(config)
    getitem, to_dict = ConfigDict.__getitem__, ConfigDict.to_dict

    def tracked_getitem(self, key):
        prefix = blocks.get(id(self))
        if prefix is not None and isinstance(key, str) and not _in_validation():
            reads.add(prefix + key)
        return getitem(self, key)

    def tracked_to_dict(self, *args, **kwargs):
        prefix = blocks.get(id(self))
        if prefix is not None and not _in_validation():
            reads.update(_leaves(self, prefix))
        return to_dict(self, *args, **kwargs)

    ConfigDict.__getitem__, ConfigDict.to_dict = tracked_getitem, tracked_to_dict
    try:
        yield
    finally:
        ConfigDict.__getitem__, ConfigDict.to_dict = getitem, to_dict


def _config(name: str, tmp) -> ConfigDict:
    """`name:tiny` on one CPU device, reading a generated dataset (or a written GAN run)."""
    config = importlib.import_module(f"experiments.configs.{name}").get_config("tiny")
    config.num_devices = 1
    if name in ENCODER_GENERATORS:
        gan = ENCODER_GENERATORS[name]
        run = tmp / f"{gan}_run"
        if not (run / "config.json").exists():
            write_checkpoint(gan, run, tmp / f"{gan}_data")
        config.generator_workdir = str(run)
    elif config.data.source.partition(":")[0] not in ("ring8", "grid25"):
        size = max(config.data.image_size or 28, config.data.crop)
        channels = 3 if config.data.image_size else 1
        n = max(16, config.data.limit)
        config.data.source = write_npz(tmp / f"{name}.npz", (size, size, channels), 10, n=n)
    return config


def _run_once(task) -> None:
    """Init and one step, traced (`jax.eval_shape`: what they read of the config is read while
    tracing, and nothing is compiled)."""
    runner = task.runner
    state = jax.eval_shape(lambda: task.fresh_state(task.init_state()))
    batch = task.source.batch(0, task.config.data.batch_size, task.config.seed)
    jax.eval_shape(runner.step, state, batch, task.rng)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("reads")


def _other(field: str, value):
    """A value of the field's type other than `value`."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2 if value else 0.5
    if isinstance(value, str):
        leaf = field.rpartition(".")[2]
        return OTHER_STRINGS.get(leaf, value + "_other") if value != OTHER_STRINGS.get(leaf) else ""
    if value is None:
        return 0.5
    raise AssertionError(f"{field}: no other value for {value!r}")


def _covered(field: str) -> bool:
    return field not in LOOP


@pytest.mark.parametrize("name", cli.config_names())
def test_every_field_is_read_or_refused(name, tmp):
    config = tasks.resolved(_config(name, tmp))  # what `tasks.build` gives the task
    reads: set[str] = set()
    with tracking(config, reads):
        task = tasks.task_class(config.get("task"))(config, str(tmp / name))
        _run_once(task)
    exempt = AFTER_TRAINING if not config.get("evals", {}).get("every") else set()
    unread = [f for f in _leaves(config) if _covered(f) and f not in reads and f not in exempt]
    silent = []
    for field in unread:
        changed = tasks.resolved(copy.deepcopy(_config(name, tmp)))
        *path, leaf = field.split(".")
        node = changed
        for part in path:
            node = node[part]
        node[leaf] = _other(field, node[leaf])
        try:
            tasks.build(changed, str(tmp / f"{name}_refused"))
        except ConfigError as e:
            if field in str(e):
                continue
        silent.append(field)
    assert not silent, f"{name}: set but neither read nor refused: {silent}"
    assert not os.path.exists(tmp / f"{name}_refused" / "config.json")


@pytest.mark.parametrize("name", cli.config_names())
def test_no_config_file_sets_a_field_its_task_does_not_read(name):
    module = importlib.import_module(f"experiments.configs.{name}")
    for variant in (None, "tiny"):
        config = module.get_config(variant)
        check_absent(config, tasks.task_class(config.get("task")).not_read(config))


@pytest.mark.parametrize(
    "name, override, line",
    [
        (
            "progan_anime64:tiny",
            "stabilizers.ema_decay=0.999",
            "config.stabilizers.ema_decay=0.999: progan runs do not read it (G's weight average "
            "is --config.progan.ema_decay); remove it",
        ),
        (
            "mnist_vae:tiny",
            "augment.policy=color",
            "config.augment.policy=color: vae runs do not read it (VAE runs train without "
            "augmentation); remove it",
        ),
    ],
)
def test_an_override_of_a_field_the_task_does_not_read_is_one_line(
    name, override, line, capsys, monkeypatch
):
    values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", None, "", flag_values=values, lock_config=True)
    argv = cli.resolve_argv(["prog", f"--config={name}", f"--config.{override}"])
    monkeypatch.setattr(sys, "argv", argv)  # where ml_collections finds the overrides
    with pytest.raises(SystemExit) as info:
        cli.parse_flags(argv, values)
    assert info.value.code == 2 and capsys.readouterr().err == f"error: {line}\n"


def test_an_old_runs_config_json_drops_what_its_task_does_not_read(tmp_path):
    """A ProGAN run written before its config dropped the GAN fields reads back without them
    (so a resume sees no change), and keeps every field it reads."""
    config = progan_config(8)
    old = base_config().to_dict()
    old.update(config.to_dict())
    (tmp_path / CONFIG_FILE).write_text(json.dumps(old))
    recorded = recorded_config(str(tmp_path))
    assert recorded == json.loads(tasks.resolved(config).to_json_best_effort())
