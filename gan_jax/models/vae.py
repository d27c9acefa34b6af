"""The VAE encoder q(z | x) = N(μ(x), diag σ²(x)) (Kingma & Welling 2014) of VAE and VAE/GAN runs.

The faces post does not publish its VAE encoder (its figure draws a convnet into z), so the
encoder is the run's discriminator body — every layer of D up to its last one, without dropout
or spectral norm (a VAE encoder is not regularised like a GAN critic) — with a dense head of
2·latent_dim units split into (μ, log σ²). With `model.name='faces'` that is the post's D stack
(5×5 convs 32/64/96 + max-pool + ReLU, linear 1024 + ReLU); with the 28-pixel DCGAN (the MNIST
configs) the TensorFlow tutorial's two 5×5 stride-2 convs. The body is cut out of D as in
`gan_jax.models.encoder` (the DIGITS encoder): so any discriminator of `gan_jax.models` gives
an encoder, and the head's parameters live under `encoder/to_latent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from gan_jax import models
from gan_jax.models.encoder import LAST_LAYER_NAMES, Encoder


class GaussianEncoder(nn.Module):
    """images (B, *data_shape) -> (μ, log σ²), each (B, latent_dim) float32; with `mean_only`
    just μ (the same parameters: what `gan_jax.runs.loading.Generator.encode` calls)."""

    body: nn.Module  # an unbound discriminator from `gan_jax.models.build`
    latent_dim: int
    mean_only: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        out = Encoder(self.body, 2 * self.latent_dim, name="encoder")(x, labels, train=train)
        mean, log_var = out[:, : self.latent_dim], out[:, self.latent_dim :]
        return mean if self.mean_only else (mean, log_var)


def encoder_stabilizers(
    stabilizers: ml_collections.ConfigDict | None,
) -> ml_collections.ConfigDict:
    """The run's `stabilizers` with D's dropout and spectral norm off (BatchNorm as in D)."""
    st = ml_collections.ConfigDict(stabilizers.to_dict() if stabilizers else {})
    st.d_dropout = 0.0
    st.d_spectral_norm = False
    return st


def build_vae_encoder(
    model_config: ml_collections.ConfigDict,
    data_shape: Sequence[int],
    stabilizers: ml_collections.ConfigDict | None = None,
    mean_only: bool = False,
) -> GaussianEncoder:
    """The encoder for the decoder (= generator) described by `model_config`."""
    _, body = models.build(model_config, data_shape, encoder_stabilizers(stabilizers))
    return GaussianEncoder(body=body, latent_dim=model_config.latent_dim, mean_only=mean_only)


def init_variables(encoder: GaussianEncoder, rng: jax.Array, data_shape: Sequence[int]):
    """Fresh encoder variables ({'params', 'batch_stats'}), initialised on a batch of two."""
    variables: dict[str, Any] = encoder.init(
        rng, jnp.zeros((2, *data_shape), jnp.float32), train=False
    )
    return {"params": variables["params"], "batch_stats": variables.get("batch_stats", {})}


def logits_and_features(
    discriminator: nn.Module, variables: dict[str, Any], x: jax.Array, rngs: dict[str, jax.Array]
) -> tuple[tuple[jax.Array, jax.Array], dict[str, Any]]:
    """D in training mode: ((logits (B,), features (B, F)), batch-stat updates), where the
    features are the input of D's last layer (Larsen et al.'s Dis_l, flattened), captured on
    the way through."""
    features: list[jax.Array] = []
    body_type = type(discriminator)

    def capture(next_fun, args, kwargs, context):
        module = context.module
        if (
            context.method_name == "__call__"
            and module.name in LAST_LAYER_NAMES
            and isinstance(module.parent, body_type)
        ):
            features.append(args[0])
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(capture):
        logits, updates = discriminator.apply(
            variables, x, None, train=True, mutable=["batch_stats"], rngs=rngs
        )
    if len(features) != 1:
        raise ValueError(f"{body_type.__name__} has no last layer named one of {LAST_LAYER_NAMES}")
    return (logits, features[0].reshape((x.shape[0], -1))), updates
