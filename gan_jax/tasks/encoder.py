"""The encoder task (`config.task = 'encoder'`): an encoder E for a frozen generator G (DIGITS),
through the one training loop (`gan_jax.training.loop`); its step is `gan_jax.encoder.step`.

E (the discriminator's body with a dense latent head, `gan_jax.models.encoder`) learns
z = E(x, y) so that G(z, y) reconstructs x: loss = mean (G(E(x)) - x)^2 over pixels, plus
optionally w * mean (E(G(z)) - z)^2 on generated pairs (`encoder.latent_loss_weight`). G runs
in inference mode and its weights are an input of the step, never differentiated or updated.

The run folder is self-contained: `WORKDIR/generator/` holds a frozen copy of G's sampling
weights (with the GAN run's config.json/model.json), taken once when training starts, so the
encoder always inverts exactly the generator it was trained with even if the GAN run continues
(or is deleted), and `gan_jax.load(WORKDIR)` gives that generator with `.encode`. Like GAN
runs, encoder runs prefetch their batches, checkpoint periodically, resume from the latest
checkpoint and write `history.jsonl` and `loss_curves.png`; their progress pictures show the
first `train.num_samples` images above their reconstructions.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax import pictures
from gan_jax.config import base_config
from gan_jax.core.optim import make_optimizer
from gan_jax.data import check_source_fields, make_source
from gan_jax.data.preprocess import to_model_range
from gan_jax.encoder.config import TASK, validate
from gan_jax.encoder.step import EncoderState, make_step
from gan_jax.errors import CheckpointError, ConfigError, DataError
from gan_jax.models import encoder as model_lib
from gan_jax.platform.files import write_json_atomic
from gan_jax.runs import loading as generator_lib
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.export import GeneratorExport
from gan_jax.runs.restore import checkpoint_steps, pick_step, read_subtrees, resolve_run
from gan_jax.runs.run_files import CONFIG_FILE, MODEL_FILE
from gan_jax.tasks.base import TaskBase


def _source_generator(config: ml_collections.ConfigDict) -> generator_lib.Generator:
    run_dir, path_step = resolve_run(config.generator_workdir)
    if not os.path.exists(os.path.join(run_dir, CONFIG_FILE)):
        raise ConfigError(
            f"config.generator_workdir={config.generator_workdir!r} is not a GAN run (no "
            f"{CONFIG_FILE}); pass the workdir of a finished `experiments.run` GAN run"
        )
    with open(os.path.join(run_dir, CONFIG_FILE)) as f:
        if json.load(f).get("task") == TASK:
            raise ConfigError(
                f"config.generator_workdir={config.generator_workdir!r} is an encoder run; "
                "pass the GAN run's workdir"
            )
    gen = generator_lib.load(run_dir, config.generator_step or path_step)
    if not gen.makes_images:
        raise ConfigError(
            f"the generator in {run_dir} makes {gen.data_shape[0]}-D points; encoders are for "
            "image generators"
        )
    return gen


def _freeze(gen: generator_lib.Generator, directory: str) -> None:
    """Copy the generator's run files and sampling weights to `directory` (a mini run). The
    config is the one in force for the frozen step (resumes' changes applied), not the raw
    config.json the run started with."""
    write_json_atomic(gen.config.to_dict(), os.path.join(directory, CONFIG_FILE))
    with open(os.path.join(gen.workdir, MODEL_FILE)) as f:
        model = json.load(f)
    model["generator"] = GeneratorExport("g_params", "g_batch_stats").to_json()  # the copy's
    write_json_atomic(model, os.path.join(directory, MODEL_FILE))
    state = {
        "step": np.asarray(gen.step, np.int32),
        "g_params": gen.variables["params"],
        "g_batch_stats": gen.variables.get("batch_stats", {}),
    }
    checkpointer = Checkpointer(directory, keep=1)
    checkpointer.save(gen.step, state)
    checkpointer.close()


def _data_config(config: ml_collections.ConfigDict, gen: generator_lib.Generator):
    """The generator run's data settings, overridden by the encoder config's set fields."""
    data = base_config().data
    for settings in (gen.config.data, config.data):
        for key, value in settings.items():
            if key in data and value is not None:
                data[key] = value
    return data


def _check_data(source: Any, gen: generator_lib.Generator) -> None:
    if tuple(source.data_shape) != gen.data_shape:
        raise DataError(
            f"{source.name} gives images of shape {tuple(source.data_shape)} but the generator "
            f"makes {gen.data_shape}; set --config.data.image_size / --config.data.channels"
        )
    if gen.num_classes and not source.num_classes:
        raise DataError(
            f"the generator is conditional ({gen.num_classes} classes) but {source.name} has no "
            "labels; use the labelled data it was trained on"
        )
    if gen.num_classes and source.num_classes > gen.num_classes:
        raise DataError(
            f"{source.name} has {source.num_classes} classes but the generator only "
            f"{gen.num_classes}; use the data it was trained on"
        )


def _pictured_examples(source: Any, num: int, num_classes: int):
    """(images in [-1, 1], labels or None): the first `num` examples, shown with their
    reconstructions in every progress picture."""
    examples = source.read(np.arange(min(num, len(source))))
    labels = examples["y"].astype(np.int32) if num_classes else None
    return to_model_range(examples["x"]), labels


class EncoderTask(TaskBase):
    """An encoder run for the one training loop: built and checked before anything is written."""

    title = "Encoder"
    finite_metrics = ("loss",)
    divergence_hint = "lower --config.optimizer.lr"

    chart_panels = (
        ("encoder loss", ("loss", "pixel_mse", "latent_mse")),
        ("reconstruction of the pictured images", ("eval_pixel_mse",)),
    )

    def __init__(self, config: ml_collections.ConfigDict, workdir: str) -> None:
        validate(config)
        super().__init__(config, workdir)
        self.rng = jax.random.PRNGKey(config.seed + 1)  # the encoder's own key, as it always was
        frozen_dir = os.path.join(self.workdir, generator_lib.GENERATOR_DIR)
        self._frozen = bool(checkpoint_steps(frozen_dir))
        gen = generator_lib.load(frozen_dir) if self._frozen else _source_generator(config)
        self.gen, self._frozen_dir = gen, frozen_dir
        data = _data_config(config, gen)
        check_source_fields(data)
        self.source = make_source(data)
        self.data_shape = gen.data_shape
        _check_data(self.source, gen)
        self.encoder = model_lib.build_encoder(
            gen.config.model, gen.data_shape, gen.config.get("stabilizers")
        )
        self.tx = make_optimizer(config.optimizer, config.train.num_steps)
        step = make_step(
            self.encoder,
            gen.module,
            self.tx,
            gen.latent_dim,
            gen.num_classes,
            config.encoder.latent_loss_weight,
        )
        self.runner = self.make_runner(lambda *_: step, constants=gen.variables)
        self._shown = _pictured_examples(self.source, config.train.num_samples, gen.num_classes)
        self._encode = jax.jit(lambda v, x, y: self.encoder.apply(v, x, y, train=False))

    def num_classes(self) -> int:
        return self.gen.num_classes

    def write_run_files(self, workdir: str) -> None:
        super().write_run_files(workdir)
        if not self._frozen:
            _freeze(self.gen, self._frozen_dir)

    def init_state(self) -> EncoderState:
        gen, tx = self.gen, self.tx

        def init(rng: jax.Array) -> EncoderState:
            v = model_lib.init_variables(self.encoder, rng, gen.data_shape, gen.num_classes)
            zero = jnp.zeros((), jnp.int32)
            return EncoderState(zero, v["params"], v["batch_stats"], tx.init(v["params"]))

        return jax.jit(init)(jax.random.PRNGKey(self.config.seed))

    def fresh_state(self, state: EncoderState) -> EncoderState:
        if self.config.encoder.init_from_discriminator:
            return _from_discriminator(state, self.config, self.gen)
        return state

    def networks(self, state: EncoderState) -> dict[str, Any]:
        return {"encoder": state.params}

    def details(self) -> str:
        return f"for the generator of {self.gen.workdir} (step {self.gen.step})"

    def generator_export(self) -> GeneratorExport:
        return GeneratorExport("g_params", "g_batch_stats", generator_lib.GENERATOR_DIR)

    def pictures(self, step: int, state: EncoderState, writer: Any) -> dict[str, float]:
        """Reconstructions of the first `train.num_samples` images, under their inputs."""
        images, labels = self._shown
        variables = {"params": state.params, "batch_stats": state.batch_stats}
        recon = self.gen.sample(
            z=np.asarray(self._encode(variables, images, labels)), labels=labels
        )
        rows = pictures.reconstruction_rows(images, recon)
        picture = pictures.image_grid(rows.reshape((-1, *self.gen.data_shape)), ncols=8)
        self.write_picture(step, picture, writer, "reconstructions")
        return {"eval_pixel_mse": float(np.mean((recon - images) ** 2))}


def _from_discriminator(
    state: EncoderState, config: ml_collections.ConfigDict, gen: generator_lib.Generator
) -> EncoderState:
    """E's body initialised from the GAN run's discriminator at the generator's step."""
    run_dir, _ = resolve_run(config.generator_workdir)
    try:
        step = pick_step(run_dir, gen.step)
        saved = read_subtrees(run_dir, step, lambda _: ["d_params", "d_batch_stats"])
    except CheckpointError as e:
        raise CheckpointError(
            f"{e}; or start the encoder from scratch with "
            "--config.encoder.init_from_discriminator=False"
        ) from None
    variables = model_lib.copy_discriminator_body(
        {"params": state.params, "batch_stats": state.batch_stats},
        saved["d_params"],
        saved["d_batch_stats"],
    )
    return state.replace(params=variables["params"], batch_stats=variables["batch_stats"])
