"""`config.data.limit`: training on a fixed draw of N examples, evaluation on all of them."""

import numpy as np
import pytest

from gan_jax.data import limit, make_source
from gan_jax.data.subset import subset_indices
from gan_jax.errors import ConfigError, DataError
from gan_jax.tasks.gan import GANTask
from tests.helpers import data_config, tiny_config


@pytest.fixture
def numbered(tmp_path):
    """40 images whose every pixel is the image's index, labelled index % 10."""
    x = np.broadcast_to(np.arange(40, dtype=np.uint8)[:, None, None, None], (40, 4, 4, 1))
    np.savez(tmp_path / "n.npz", x_train=x, y_train=np.arange(40) % 10)
    return f"npz:{tmp_path / 'n.npz'}"


def _ids(batch):
    """The image indices of a batch (pixels are the index, mapped to [-1, 1])."""
    return np.rint((batch["x"][:, 0, 0, 0] + 1) * 127.5).astype(int)


def test_training_batches_only_read_the_kept_examples(numbered):
    source = limit(make_source(data_config(numbered)), 8)
    kept = set(subset_indices(8, 40).tolist())
    assert len(source) == 8 and len(kept) == 8
    seen = set()
    for step in range(12):  # 3 epochs of 4 batches of 2
        batch = source.batch(step, 2, seed=step % 3)
        ids = _ids(batch)
        assert set(ids) <= kept
        np.testing.assert_array_equal(batch["y"], ids % 10)  # labels follow their images
        seen.update(ids.tolist())
    assert seen == kept  # every kept image is used


def test_the_draw_is_the_same_for_every_seed_and_not_the_first_rows(numbered):
    a = limit(make_source(data_config(numbered)), 8)
    b = limit(make_source(data_config(numbered, flip=True)), 8)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert a.indices.tolist() != list(range(8))
    epoch_a = {i for s in range(4) for i in _ids(a.batch(s, 2, seed=0))}
    epoch_b = {i for s in range(4) for i in _ids(a.batch(s, 2, seed=7))}
    assert epoch_a == epoch_b == set(a.indices.tolist())


def test_zero_keeps_the_source_and_bad_limits_name_the_fix(numbered):
    full = make_source(data_config(numbered))
    assert limit(full, 0) is full
    with pytest.raises(DataError, match=r"config.data.limit=41 but .* has only 40 .* at most 40"):
        limit(full, 41)
    with pytest.raises(ConfigError, match="fresh samples every step"):
        limit(make_source(data_config("ring8")), 100)


def test_a_gan_task_trains_on_the_subset_and_evaluates_on_everything(numbered, tmp_path):
    config = tiny_config("mnist_mlp", **{"data.source": numbered, "data.limit": 16})
    config.data.batch_size = 4
    config.evals.every = 1
    config.evals.metrics = "pixel_chi2"
    config.evals.num_real = 1000
    task = GANTask(config, str(tmp_path / "run"))
    assert len(task.source) == 16
    real = task.evals.evaluator.real()["images"]
    assert len(real) == 40  # the reference set is drawn from all 40 images
