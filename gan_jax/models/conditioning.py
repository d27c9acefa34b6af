"""Class-label conditioning by concatenation, shared by the MLP and DCGAN models.

Conditional GANs (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets") feed the
class label to both networks. Following the DIGITS / DCGAN-tensorflow conditional models, the
label is one-hot encoded and concatenated to the network input and to every hidden activation:
along the feature axis for vectors, and tiled over height and width for feature maps, so every
layer sees the label and cannot "forget" it.
"""

from typing import Any

import jax
import jax.numpy as jnp


def check_labels(labels: jax.Array | None, num_classes: int, batch_size: int) -> None:
    """Raises ValueError unless `labels` is given exactly when the model is conditional.

    Labels must be integer class indices of shape (batch_size,) when `num_classes > 0`, and
    None when the model is unconditional (a silently ignored label would hide a config bug).
    """
    if num_classes <= 0:
        if labels is not None:
            raise ValueError("labels were given to an unconditional model (num_classes = 0)")
        return
    if labels is None:
        raise ValueError(f"this model is conditional (num_classes = {num_classes}); pass labels")
    if labels.shape != (batch_size,):
        raise ValueError(f"labels must have shape ({batch_size},), got {labels.shape}")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")


def one_hot(labels: jax.Array, num_classes: int, dtype: Any) -> jax.Array:
    """(B,) int class indices -> (B, num_classes) one-hot rows in the computation dtype."""
    return jax.nn.one_hot(labels, num_classes, dtype=dtype)


def concat_label(h: jax.Array, onehot: jax.Array | None) -> jax.Array:
    """Appends the one-hot label to the last axis of `h`; identity when unconditional.

    `h` is (B, D) or (B, H, W, C); for feature maps the (B, K) one-hot is tiled to
    (B, H, W, K) first. The one-hot is cast to `h`'s dtype so bf16 activations stay bf16.
    """
    if onehot is None:
        return h
    onehot = onehot.astype(h.dtype)
    if h.ndim == 4:
        batch, height, width, _ = h.shape
        onehot = jnp.broadcast_to(
            onehot[:, None, None, :], (batch, height, width, onehot.shape[-1])
        )
    elif h.ndim != 2:
        raise ValueError(f"can only condition (B, D) or (B, H, W, C) arrays, got {h.shape}")
    return jnp.concatenate([h, onehot], axis=-1)


def label_onehot(
    labels: jax.Array | None, num_classes: int, batch_size: int, dtype: Any
) -> jax.Array | None:
    """Validates `labels` and returns their one-hot encoding, or None for unconditional models.

    Float labels of shape (B, num_classes) are taken as (soft) one-hot rows as they are: the
    latent tools move between classes by interpolating them (`gan_jax.latent.class_sweep`).
    """
    if (
        num_classes > 0
        and labels is not None
        and jnp.issubdtype(labels.dtype, jnp.floating)
        and labels.shape == (batch_size, num_classes)
    ):
        return labels.astype(dtype)
    check_labels(labels, num_classes, batch_size)
    if num_classes <= 0:
        return None
    return one_hot(labels, num_classes, dtype)
