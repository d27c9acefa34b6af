"""Packing (PacGAN, Lin, Khetan, Fanti & Oh 2018, "PacGAN: The power of two samples in generative
adversarial networks"): the discriminator judges m samples of the same kind at once.

`model.pack = m` wraps any discriminator: a batch of B samples (all real or all generated) is cut
into B/m packs of m consecutive samples, and each pack is concatenated along the last axis —
channels for images ((B, H, W, C) -> (B/m, H, W, m·C)), features for vectors ((B, D) ->
(B/m, m·D)) — before the inner D, which is the same architecture built for m·C channels (m·D
features). D returns one logit per pack, so every loss sees B/m outputs per kind. A generator
that drops modes produces packs whose samples are too alike, which the packed D can detect; the
paper proves packing penalizes mode collapse (its Section 4).

Consecutive samples form a pack, so under pmap each device packs its own contiguous slice of
the global batch and the packs are the same as on one device as long as the per-device batch is
a multiple of m (`check_batch`).

Conditional labels are packed the same way: the one-hot rows of the m labels of a pack are
concatenated in the order of the samples, (B,) -> (B/m, m·K) float rows, and the inner D is built
with m·K classes, so it sees each sample's label in the same position as the sample (the models
take float (B, K) label rows as given one-hot rows, `models.conditioning.label_onehot`). A pack may
mix classes; D learns the joint of samples and labels.

The wrapper shares its scope with the inner D (`flax.linen.share_scope`): the parameter tree has
the inner D's names, only the first layer's input width grows by m. Initialisation repeats each
example m times, so any init batch works.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from gan_jax.errors import ConfigError

# Builds the inner discriminator for (model config, data shape): the model registry's builder.
InnerBuilder = Callable[[ml_collections.ConfigDict, tuple[int, ...]], nn.Module]


def pack_size(model_config: ml_collections.ConfigDict) -> int:
    """`model.pack` (1 when absent), checked: an integer >= 1."""
    pack = model_config.get("pack", 1)
    if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
        raise ConfigError(f"config.model.pack={pack!r} must be an integer >= 1 (1 = no packing)")
    return pack


def check_batch(pack: int, batch_size: int, num_devices: int) -> None:
    """One-line ConfigError unless the global and the per-device batch are multiples of `pack`."""
    if pack <= 1:
        return
    if batch_size % pack:
        raise ConfigError(
            f"config.data.batch_size={batch_size} is not a multiple of config.model.pack={pack}; "
            f"use a batch size divisible by {pack}"
        )
    per_device = batch_size // max(num_devices, 1)
    if batch_size % max(num_devices, 1) == 0 and per_device % pack:
        raise ConfigError(
            f"the per-device batch {per_device} (config.data.batch_size={batch_size} over "
            f"{num_devices} devices) is not a multiple of config.model.pack={pack}; use a batch "
            f"size divisible by {pack * num_devices}"
        )


def pack_inputs(x: jax.Array, pack: int) -> jax.Array:
    """(B, *S) -> (B/m, *S[:-1], m·S[-1]): pack j holds samples j·m … j·m + m − 1, their last
    axes concatenated in that order."""
    batch = x.shape[0]
    if batch % pack:
        raise ValueError(f"a batch of {batch} cannot be cut into packs of {pack}")
    grouped = x.reshape((batch // pack, pack, *x.shape[1:]))
    grouped = jnp.moveaxis(grouped, 1, -2)  # (B/m, *S[:-1], m, S[-1])
    return grouped.reshape((batch // pack, *x.shape[1:-1], pack * x.shape[-1]))


def pack_labels(labels: jax.Array | None, pack: int, num_classes: int) -> jax.Array | None:
    """(B,) class indices -> (B/m, m·K) float32 rows: each pack's one-hots concatenated in sample
    order. (B, K) float rows are taken as one-hots. None stays None."""
    if labels is None:
        return None
    if jnp.issubdtype(labels.dtype, jnp.integer):
        labels = jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)
    return pack_inputs(labels.astype(jnp.float32), pack)


class PackedDiscriminator(nn.Module):
    """`inner` applied to packs of `pack` samples: x (B, *S) [+ labels] -> logits (B/pack,).

    `num_classes` is K of the unpacked model (the inner D has pack·K); 0 for unconditional.
    """

    inner: nn.Module
    pack: int
    num_classes: int = 0

    def setup(self) -> None:
        nn.share_scope(self, self.inner)

    def __call__(self, x: jax.Array, labels: jax.Array | None = None, train: bool = True):
        if self.is_initializing():  # any init batch: every example repeated to a full pack
            x = jnp.repeat(x, self.pack, axis=0)
            labels = None if labels is None else jnp.repeat(labels, self.pack, axis=0)
        packed_labels = pack_labels(labels, self.pack, self.num_classes)
        return self.inner(pack_inputs(x, self.pack), packed_labels, train=train)


def pack_discriminator(
    disc: nn.Module,
    model_config: ml_collections.ConfigDict,
    data_shape: Sequence[int],
    build_inner: InnerBuilder,
) -> nn.Module:
    """`disc` itself when `model.pack` is 1, else a `PackedDiscriminator` around the same
    architecture built by `build_inner` for m·C channels (m·D features) and m·K classes."""
    pack = pack_size(model_config)
    if pack == 1:
        return disc
    shape = tuple(data_shape)
    num_classes = int(model_config.get("num_classes", 0))
    inner_config = ml_collections.ConfigDict(model_config.to_dict())
    inner_config.num_classes = num_classes * pack
    inner = build_inner(inner_config, (*shape[:-1], shape[-1] * pack))
    return PackedDiscriminator(inner, pack, num_classes)


def pack_of(discriminator: Any) -> int:
    """The pack size of a discriminator module (1 when it is not packed)."""
    return discriminator.pack if isinstance(discriminator, PackedDiscriminator) else 1
