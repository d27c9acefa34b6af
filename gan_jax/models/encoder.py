"""The encoder network: the discriminator's body with its last layer replaced by a dense layer of
latent size (the DIGITS GAN encoder).

Every discriminator in `gan_jax.models` ends in a layer named `logit` (or `logit_sn` when it is
spectrally normalised). `Encoder` runs a discriminator module as its body and, through
`flax.linen.intercept_methods`, stops that last call: it keeps the layer's input (the body's
features) and never creates the layer's parameters. So the body's parameters and statistics
have exactly the discriminator's tree minus `logit`, which is what lets training start from a
trained discriminator, and every discriminator option (BatchNorm, spectral norm, dropout,
conditioning) carries over unchanged. For a conditional GAN the label is an input of the body,
as it is of D.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from gan_jax import models

LAST_LAYER_NAMES = ("logit", "logit_sn")


class Encoder(nn.Module):
    """images (B, *data_shape) [+ labels (B,)] -> latent vectors (B, latent_dim), float32."""

    body: nn.Module  # an unbound discriminator from `gan_jax.models.build`
    latent_dim: int

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        body_type = type(self.body)
        features: list[jax.Array] = []

        def replace_last_layer(next_fun, args, kwargs, context):
            module = context.module
            is_last = (
                context.method_name == "__call__"
                and module.name in LAST_LAYER_NAMES
                and isinstance(module.parent, body_type)
            )
            if not is_last:
                return next_fun(*args, **kwargs)
            features.append(args[0])
            return jnp.zeros((args[0].shape[0], 1), args[0].dtype)  # D's unused logit

        with nn.intercept_methods(replace_last_layer):
            self.body(x, labels, train=train)
        if len(features) != 1:
            raise ValueError(
                f"{body_type.__name__} has no last layer named one of {LAST_LAYER_NAMES}; "
                "an encoder needs it to know where the discriminator's body ends"
            )
        h = features[0].reshape((x.shape[0], -1))
        z = nn.Dense(self.latent_dim, param_dtype=jnp.float32, name="to_latent")(h)
        return z.astype(jnp.float32)


def build_encoder(
    model_config: ml_collections.ConfigDict,
    data_shape: Sequence[int],
    stabilizers: ml_collections.ConfigDict | None = None,
) -> Encoder:
    """The encoder for the generator described by `model_config` on data of `data_shape`."""
    _, discriminator = models.build(model_config, data_shape, stabilizers)
    return Encoder(body=discriminator, latent_dim=model_config.latent_dim)


def init_variables(
    encoder: Encoder, rng: jax.Array, data_shape: Sequence[int], num_classes: int
) -> dict[str, Any]:
    """Fresh encoder variables ({'params', 'batch_stats'}), initialised on a batch of two."""
    x = jnp.zeros((2, *data_shape), jnp.float32)
    labels = jnp.zeros((2,), jnp.int32) if num_classes else None
    variables = encoder.init(rng, x, labels, train=False)
    return {"params": variables["params"], "batch_stats": variables.get("batch_stats", {})}


def copy_discriminator_body(
    variables: dict[str, Any], d_params: dict[str, Any], d_batch_stats: dict[str, Any]
) -> dict[str, Any]:
    """`variables` with the body's parameters and statistics taken from a trained D.

    D's tree is the body's plus the last layer, so every body entry has a D counterpart of the
    same shape; anything else means the discriminator does not belong to this generator run.
    """

    def take(ours: Any, theirs: dict[str, Any], what: str) -> Any:
        def pick(path, leaf):
            node = theirs
            for key in path:
                node = node.get(key.key) if isinstance(node, dict) else None
            if node is None or tuple(node.shape) != tuple(leaf.shape):
                name = "/".join(k.key for k in path)
                raise ValueError(f"the discriminator's {what} has no {name} of shape {leaf.shape}")
            return jnp.asarray(node, leaf.dtype)

        return jax.tree_util.tree_map_with_path(pick, ours)

    return {
        "params": {
            **variables["params"],
            "body": take(variables["params"]["body"], d_params, "params"),
        },
        "batch_stats": (
            {"body": take(variables["batch_stats"]["body"], d_batch_stats, "batch_stats")}
            if variables["batch_stats"]
            else {}
        ),
    }
