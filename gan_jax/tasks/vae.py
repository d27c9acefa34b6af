"""The VAE task (`config.task = 'vae'`): a VAE or a VAE/GAN through the one training loop
(`gan_jax.training.loop`).

The step is `gan_jax.vae.step`. The run folder is a GAN run folder as far as readers care:
config.json (with the GAN fields: `model` describes the decoder), model.json, and checkpoints
whose `g_params` / `g_batch_stats` are the decoder (the task's generator export), so
`gan_jax.load(WORKDIR)` samples the decoder and `python -m experiments.evaluate
--workdir=WORKDIR` scores its samples;
`gan_jax.vae.compare.load_vae(WORKDIR)` also attaches the encoder's mean μ(x) as `.encode`.
Progress pictures (`samples/step_XXXXXX.png` and TensorBoard `samples`): the first training
images above their reconstructions G(μ(x)), then random samples G(z) from a fixed z ~ N(0, I).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import ml_collections
import numpy as np

from gan_jax import losses, models, pictures
from gan_jax.core import optim, stabilizers
from gan_jax.core.sampling import fixed_latents, make_sampler
from gan_jax.data.preprocess import to_model_range
from gan_jax.models.vae import build_vae_encoder
from gan_jax.runs.export import GeneratorExport
from gan_jax.tasks import gan as gan_task
from gan_jax.tasks.base import TaskBase
from gan_jax.vae import config as vae_config
from gan_jax.vae.step import VAESpec, VAEState, init_vae_state, make_vae_step

PER_ROW = 8  # images per row of the progress pictures


def build_spec(config: ml_collections.ConfigDict, data_shape: tuple[int, ...]) -> VAESpec:
    """Encoder, decoder (the config's generator), optionally D and its loss, and optimizers."""
    v, st, num_steps = config.vae, config.stabilizers, config.train.num_steps
    decoder, discriminator = models.build(config.model, data_shape, st)
    gan: dict[str, Any] = {}
    if v.gan:
        options = {k: val for k, val in config.loss_options.to_dict().items() if val is not None}
        loss = losses.get(config.loss, **options)
        stabilizers.validate(st, config.loss, loss.logistic)
        gan = dict(
            discriminator=discriminator,
            loss=loss,
            d_tx=optim.make_optimizer(config.d_optimizer, num_steps),
            skip_margin=st.skip_margin,
            skip_rule=st.skip_rule,
            gamma=v.gamma,
        )
    # The encoder reads only D's BatchNorm switch of the block (its dropout and spectral norm
    # are off: `gan_jax.models.vae.encoder_stabilizers`).
    encoder_st = ml_collections.ConfigDict({"d_batchnorm": st.d_batchnorm})
    return VAESpec(
        encoder=build_vae_encoder(config.model, data_shape, encoder_st),
        decoder=decoder,
        e_tx=optim.make_optimizer(config.e_optimizer, num_steps),
        g_tx=optim.make_optimizer(config.g_optimizer, num_steps),
        latent_dim=config.model.latent_dim,
        recon=v.recon,
        pixel_sigma=v.pixel_sigma,
        **gan,
    )


class VAETask(TaskBase):
    """A VAE or VAE/GAN run, built and checked before the loop writes anything."""

    finite_metrics = ("vae_loss", "d_loss", "g_loss")
    divergence_hint = "lower the learning rates (e_optimizer, g_optimizer, d_optimizer)"

    chart_panels = (
        ("VAE terms (nats per image)", ("kl", "recon")),
        ("GAN losses", ("d_loss", "g_loss")),
        ("decoder gradient norms", ("g_recon_grad_norm", "g_gan_grad_norm")),
        ("reconstruction MSE of the pictured images", ("eval_pixel_mse",)),
    )

    @classmethod
    def not_read(cls, config: Any) -> dict[str, str]:
        return vae_config.not_read(bool(config["vae"]["gan"]))

    def __init__(self, config: ml_collections.ConfigDict, workdir: str) -> None:
        super().__init__(config, workdir)
        vae_config.validate(config)
        nets = ("g_optimizer", "d_optimizer") if config.vae.gan else ("g_optimizer",)
        gan_task.validate_shared(config, nets)
        self.source = self.open_source()
        self.data_shape = tuple(self.source.data_shape)
        self.spec = build_spec(config, self.data_shape)
        self.title = "VAE/GAN" if self.spec.gan else "VAE"
        step = make_vae_step(self.spec)
        self.runner = self.make_runner(
            lambda *_: step, steps_per_dispatch=config.train.steps_per_dispatch
        )
        num = config.train.num_samples
        shown = self.source.read(np.arange(min(max(PER_ROW, num // 2), len(self.source))))
        self._shown = to_model_range(shown["x"])
        self._z = fixed_latents(config.seed, num, config.model.latent_dim)
        self._sample = make_sampler(self.spec.decoder)
        mean_encoder = self.spec.encoder.clone(mean_only=True)
        self._encode = jax.jit(lambda v, x: mean_encoder.apply(v, x, train=False))

    def init_state(self) -> VAEState:
        init = functools.partial(init_vae_state, self.spec, data_shape=self.data_shape)
        return jax.jit(init)(jax.random.PRNGKey(self.config.seed))

    def networks(self, state: VAEState) -> dict[str, Any]:
        nets = {"encoder": state.e_params, "decoder (generator)": state.g_params}
        return {**nets, "discriminator": state.d_params} if self.spec.gan else nets

    def generator_export(self) -> GeneratorExport:
        return GeneratorExport("g_params", "g_batch_stats")

    def pictures(self, step: int, state: VAEState, writer: Any) -> dict[str, float]:
        """Inputs above their reconstructions, then random samples (PNG + TensorBoard)."""
        g_vars = {"params": state.g_params, "batch_stats": state.g_batch_stats}
        e_vars = {"params": state.e_params, "batch_stats": state.e_batch_stats}
        recon = np.asarray(self._sample(g_vars, self._encode(e_vars, self._shown), None))
        samples = np.asarray(self._sample(g_vars, self._z, None))
        rows = pictures.reconstruction_rows(self._shown, recon, PER_ROW)
        images = np.concatenate([rows.reshape((-1, *self.data_shape)), samples])
        self.write_picture(step, pictures.image_grid(images, ncols=PER_ROW), writer)
        return {"eval_pixel_mse": float(np.mean((recon - self._shown) ** 2))}
