"""`gan_jax.load(path)`: a trained generator (and its encoder) in a notebook, from its run folder.

    import gan_jax
    g = gan_jax.load("runs/mnist_cgan")          # or runs/mnist_cgan/checkpoints/10000
    images = g.sample(16, seed=0)                # (16, 28, 28, 1) float32 in [-1, 1]
    gan_jax.pictures.grids.grid(images)                     # a PIL image

Only what sampling needs is read: G's weights (the EMA weights when the run kept an EMA) and
its BatchNorm statistics, as host numpy arrays (`gan_jax.runs.restore`). The model is rebuilt from
the run's `config.json` and `model.json`; neither the dataset, nor TensorFlow, nor the
optimizer state is needed, and a checkpoint written on accelerators loads on a CPU.

An encoder run (`experiments.run --config=mnist_cgan_encoder ...`) keeps a frozen copy of its
generator in `ENCODER_RUN/generator/`, so `gan_jax.load(ENCODER_RUN)` gives that generator with
`.encode` attached; `gan_jax.load(GAN_RUN, encoder=ENCODER_RUN)` attaches it to a GAN run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import ml_collections
import numpy as np

from gan_jax import models
from gan_jax.config import ENCODER_TASK
from gan_jax.core.sampling import chunked, fixed_latents, make_sampler
from gan_jax.errors import CheckpointError, InputError
from gan_jax.runs import export
from gan_jax.runs.restore import read_intact, read_run_files, resolve_run

GENERATOR_DIR = "generator"  # an encoder run's frozen copy of its generator


class Generator:
    """A trained generator on the host, ready to sample; see the module docstring.

    Attributes: `config` (the run's config), `step` (the checkpoint's training step),
    `data_shape`, `latent_dim`, `num_classes` (0 = unconditional), `workdir`, `has_encoder`.
    """

    def __init__(
        self,
        module: nn.Module,
        variables: dict[str, Any],
        config: ml_collections.ConfigDict,
        data_shape: tuple[int, ...],
        num_classes: int,
        step: int,
        workdir: str,
    ) -> None:
        self.module, self.variables = module, variables
        self.config, self.data_shape, self.num_classes = config, data_shape, num_classes
        self.step, self.workdir = step, workdir
        self.latent_dim: int = config.model.latent_dim
        self._apply = make_sampler(module)
        self._encoder: tuple[dict[str, Any], Callable[..., Any]] | None = None  # vars, apply

    def __repr__(self) -> str:
        return (
            f"Generator({self.workdir!r}, step={self.step}, data_shape={self.data_shape}, "
            f"latent_dim={self.latent_dim}, num_classes={self.num_classes}, "
            f"encoder={self.has_encoder})"
        )

    @property
    def has_encoder(self) -> bool:
        return self._encoder is not None

    @property
    def makes_images(self) -> bool:
        """True for image generators, False for 2-D (or other vector) data."""
        return len(self.data_shape) == 3

    def latents(self, num: int, seed: int = 0) -> np.ndarray:
        """`num` latent vectors from `seed` (from the run's `model.latent_prior`); the training
        run's progress pictures used `latents(train.num_samples, config.seed)`."""
        if num < 1:
            raise InputError(f"num={num} must be >= 1")
        return fixed_latents(
            seed, num, self.latent_dim, self.config.model.get("latent_prior", "normal")
        )

    def labels(self, labels: Any, num: int) -> np.ndarray | None:
        """Labels for `num` samples: None (classes in turn: 0, 1, ..., K-1, 0, ...), one class,
        (num,) classes, or (num, K) soft one-hot rows (e.g. between two classes)."""
        k = self.num_classes
        if not k:
            if labels is not None:
                raise InputError("this generator is unconditional (num_classes=0); omit labels")
            return None
        if labels is None:
            return (np.arange(num) % k).astype(np.int32)
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full((num,), labels)
        if labels.ndim == 2 and labels.shape == (num, k):
            return labels.astype(np.float32)
        if labels.shape != (num,) or not np.issubdtype(labels.dtype, np.integer):
            raise InputError(
                f"labels must be one class, {num} integer classes or ({num}, {k}) soft one-hot "
                f"rows; got shape {labels.shape} dtype {labels.dtype}"
            )
        if labels.min() < 0 or labels.max() >= k:
            raise InputError(
                f"labels must be classes in 0..{k - 1}, got {labels.min()}..{labels.max()}"
            )
        return labels.astype(np.int32)

    def sample(
        self, num: int | None = None, seed: int = 0, labels: Any = None, z: Any = None
    ) -> np.ndarray:
        """Generated data: float32 (N, H, W, C) images in [-1, 1], or (N, D) points.

        Args:
          num: how many; optional when `z` is given.
          seed: picks the latent vectors (`latents(num, seed)`) when `z` is not given.
          labels: for conditional generators, see `labels` (default: classes in turn).
          z: (N, latent_dim) latent vectors to render instead of random ones.
        """
        if z is None:
            if num is None:
                raise InputError("pass num (how many samples) or z (the latent vectors)")
            z = self.latents(num, seed)
        z = np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or (num is not None and len(z) != num):
            raise InputError(
                f"z must have shape ({num if num is not None else 'N'}, {self.latent_dim}), "
                f"got {z.shape}"
            )
        return chunked(self._apply, self.variables, z, self.labels(labels, len(z)))

    def encode(self, images: Any, labels: Any = None) -> np.ndarray:
        """Latent vectors (N, latent_dim) whose samples reconstruct `images`.

        `images`: (N, *data_shape) floats in [-1, 1] or uint8 0..255. A conditional generator's
        encoder also takes the images' classes (`labels`), as the generator does.
        """
        if self._encoder is None:
            raise InputError(
                "no encoder is attached; load an encoder run (gan_jax.load(ENCODER_WORKDIR)) or "
                "pass gan_jax.load(..., encoder=ENCODER_WORKDIR)"
            )
        images = np.asarray(images)
        if images.shape[1:] != self.data_shape or not len(images):
            raise InputError(
                f"images must have shape (N, {', '.join(map(str, self.data_shape))}), "
                f"got {images.shape}"
            )
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 127.5 - 1.0
        if self.num_classes and labels is None:
            raise InputError(
                f"this encoder is conditional ({self.num_classes} classes); pass the images' labels"
            )
        labels = self.labels(labels, len(images))
        if labels is not None and labels.ndim != 1:
            raise InputError("encode takes integer class labels, not soft one-hot rows")
        variables, apply = self._encoder
        return chunked(apply, variables, images.astype(np.float32), labels)

    def attach_encoder(self, module: nn.Module, variables: dict[str, Any]) -> None:
        """Use `module` (a `gan_jax.models.encoder.Encoder`) with `variables` for `encode`."""
        apply = jax.jit(lambda v, x, y: module.apply(v, x, y, train=False))
        self._encoder = (variables, apply)


def _load_generator(run_dir: str, step: int | None) -> Generator:
    _, recorded = read_run_files(run_dir)
    chosen: list[export.GeneratorExport] = []

    def entries(tree: dict[str, Any]) -> list[str]:
        chosen.append(export.for_run(recorded, tree))
        return chosen[-1].entries()

    step, saved = read_intact(run_dir, step, entries)
    config, model = read_run_files(run_dir, step)
    data_shape = tuple(int(d) for d in model["data_shape"])
    module, _ = models.build(config.model, data_shape)
    contract = chosen[-1]
    variables = {"params": saved[contract.params]}
    if contract.batch_stats and saved[contract.batch_stats]:
        variables["batch_stats"] = saved[contract.batch_stats]
    num_classes = int(model.get("num_classes", config.model.num_classes))
    return Generator(
        module, variables, config, data_shape, num_classes, int(saved["step"]), run_dir
    )


def _attach_encoder(gen: Generator, run_dir: str, step: int | None) -> None:
    from gan_jax.models.encoder import build_encoder

    config, model = read_run_files(run_dir)
    if config.get("task") != ENCODER_TASK:
        raise CheckpointError(
            f"{run_dir} is a GAN run, not an encoder run; pass encoder= the workdir of an "
            "`experiments.run --config=..._encoder` run"
        )
    if tuple(model["data_shape"]) != gen.data_shape:
        raise CheckpointError(
            f"encoder run {run_dir} was trained on data of shape {tuple(model['data_shape'])}, "
            f"but the generator makes {gen.data_shape}"
        )
    frozen, _ = read_run_files(os.path.join(run_dir, GENERATOR_DIR))
    if frozen.model.to_dict() != gen.config.model.to_dict():
        raise CheckpointError(
            f"encoder run {run_dir} was trained for a generator with a different model config; "
            f"load the encoder run itself (gan_jax.load({run_dir!r}))"
        )
    _, saved = read_intact(run_dir, step, lambda _: ["params", "batch_stats"])
    variables = {"params": saved["params"]}
    if saved["batch_stats"]:
        variables["batch_stats"] = saved["batch_stats"]
    encoder = build_encoder(gen.config.model, gen.data_shape, gen.config.get("stabilizers"))
    gen.attach_encoder(encoder, variables)


def load(
    path: str | os.PathLike, step: int | None = None, encoder: str | os.PathLike | None = None
) -> Generator:
    """The generator of a run, ready to sample (see the module docstring).

    Args:
      path: a GAN run's workdir, its `checkpoints/` folder or a `checkpoints/STEP` folder; or an
        encoder run's workdir (its frozen generator, with `.encode`).
      step: the checkpoint to load (default: the latest, or the one `path` names). For an
        encoder run, the encoder's step.
      encoder: an encoder run to attach to a GAN run's generator.
    """
    run_dir, path_step = resolve_run(path)
    if step is not None and path_step is not None and step != path_step:
        raise CheckpointError(f"{path} is the checkpoint of step {path_step}, not step {step}")
    step = path_step if step is None else step
    config, model = read_run_files(run_dir)
    # Encoder runs written before the export contract name no folder: theirs is GENERATOR_DIR.
    legacy = GENERATOR_DIR if config.get("task") == ENCODER_TASK else ""
    folder = export.for_run(model).folder or legacy
    if folder:  # an encoder run: its frozen copy of the generator, with `.encode`
        if encoder is not None:
            raise CheckpointError(f"{path} is an encoder run already; drop encoder=")
        gen = _load_generator(os.path.join(run_dir, folder), None)
        _attach_encoder(gen, run_dir, step)
        return gen
    gen = _load_generator(run_dir, step)
    if encoder is not None:
        encoder_dir, encoder_step = resolve_run(encoder)
        _attach_encoder(gen, encoder_dir, encoder_step)
    return gen
