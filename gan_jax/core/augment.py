"""DiffAugment (Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for Data-Efficient
GAN Training"): the same random, differentiable transforms T on everything D sees.

With `augment.policy` set, D is trained on D(T(x)) and D(T(G(z))), and G on D(T(G(z))): T is
applied to real and generated images, in D's step and in G's step, and the gradient flows
through T into G. Without augmenting fakes too, D would learn the augmented distribution and G
would copy the augmentations; with it, D cannot overfit a small dataset as easily (the paper's
100-shot and 10%-CIFAR results). The ops follow the paper's reference code
(`DiffAugment_pytorch.py`), one draw per image:

* color: brightness x + (u − ½); saturation (x − x̄_c)·2u + x̄_c (x̄_c: mean over channels,
  so it is the identity on grayscale); contrast (x − x̄)·(u + ½) + x̄ (x̄: the image mean).
* translation: shift by integers (tx, ty) uniform in [−s, s], s = ⌊ratio·size + ½⌋ per axis
  (ratio ⅛), filling with zeros: out[i, j] = x[i + tx, j + ty].
* cutout: zero a square of ⌊ratio·size + ½⌋ pixels (ratio ½) whose centre (cx, cy) is uniform
  in [0, size − (side mod 2)], i.e. rows cx − ⌊side/2⌋ … cx − ⌊side/2⌋ + side − 1, clipped.

Randomness (`diff_augment`'s `uniform`): the train step draws each op's uniforms for the global
batch and gives each device its slice (`DeviceAxis.per_example`), so augmented training is the
same on one device, under pmap and sharded jit, and no two devices draw the same transforms.
Keys: in D's step the real pass uses `augment_key(k, REAL)` and the fake pass
`augment_key(k, FAKE)` of the step's penalty key k; the gradient penalty reuses the real pass's
key (R1 sees the transformed reals D was trained on, differentiated through T to the raw inputs,
as in the paper's StyleGAN2 code). G's step uses `augment_key(k, FAKE)` and `augment_key(k,
REAL)` of its own key. Augmentation is for images (B, H, W, C) only.

The policy reaches the train step as `GANSpec.augment` (`validate` turns the config's
`augment` block into it); the step's pieces (`gan_jax.core.updates`) apply T where the rule
above says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import ml_collections

from gan_jax.errors import ConfigError

# policy name -> its ops, applied in this order (the reference code's AUGMENT_FNS)
POLICIES: dict[str, tuple[str, ...]] = {
    "color": ("brightness", "saturation", "contrast"),
    "translation": ("translation",),
    "cutout": ("cutout",),
}
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5
REAL, FAKE = 0, 1  # `augment_key` streams

# (key, local_batch, *shape) -> float32 uniforms in [0, 1) of shape (local_batch, *shape)
Uniform = Callable[..., jax.Array]


def parse_policy(text: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); '' or 'none' -> (). The ops may also be
    joined by '+' ('color+translation'), which an ablation's comma-separated `--sweep` values can
    hold. ConfigError on unknown names."""
    text = "" if (text or "").strip() == "none" else (text or "")
    names = tuple(p.strip() for p in text.replace("+", ",").split(",") if p.strip())
    for name in names:
        if name not in POLICIES:
            raise ConfigError(
                f"config.augment.policy has unknown op {name!r}; use a comma-separated subset "
                f"of: {','.join(POLICIES)} (or '' / 'none' for none)"
            )
    return names


def augment_key(key: jax.Array, stream: int) -> jax.Array:
    """The key of one augmented pass (`REAL` or `FAKE`) from a step piece's key."""
    return jax.random.fold_in(jax.random.fold_in(key, 0xA6), stream)


def _int_draw(u: jax.Array, low: int, count: int) -> jax.Array:
    """Integers uniform in [low, low + count) from uniforms in [0, 1)."""
    return low + jnp.minimum(jnp.floor(u * count), count - 1).astype(jnp.int32)


def _side(size: int, ratio: float) -> int:
    return int(size * ratio + 0.5)


def brightness(x: jax.Array, u: jax.Array) -> jax.Array:
    return x + (u.reshape(-1, 1, 1, 1) - 0.5)


def saturation(x: jax.Array, u: jax.Array) -> jax.Array:
    mean = jnp.mean(x, axis=3, keepdims=True)
    return (x - mean) * (u.reshape(-1, 1, 1, 1) * 2.0) + mean


def contrast(x: jax.Array, u: jax.Array) -> jax.Array:
    mean = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * (u.reshape(-1, 1, 1, 1) + 0.5) + mean


def translation(x: jax.Array, tx: jax.Array, ty: jax.Array) -> jax.Array:
    """out[b, i, j] = x[b, i + tx_b, j + ty_b], 0 outside the image."""
    _, height, width, _ = x.shape
    sx, sy = _side(height, TRANSLATION_RATIO), _side(width, TRANSLATION_RATIO)
    padded = jnp.pad(x, ((0, 0), (sx, sx), (sy, sy), (0, 0)))

    def shift(image: jax.Array, dx: jax.Array, dy: jax.Array) -> jax.Array:
        return jax.lax.dynamic_slice(image, (dx + sx, dy + sy, 0), (height, width, x.shape[3]))

    return jax.vmap(shift)(padded, tx, ty)


def cutout(x: jax.Array, cx: jax.Array, cy: jax.Array) -> jax.Array:
    """Zero the side_h × side_w square whose first row/column is c − ⌊side/2⌋ (clipped)."""
    _, height, width, _ = x.shape
    side_h, side_w = _side(height, CUTOUT_RATIO), _side(width, CUTOUT_RATIO)
    top = (cx - side_h // 2)[:, None]
    left = (cy - side_w // 2)[:, None]
    rows, cols = jnp.arange(height)[None, :], jnp.arange(width)[None, :]
    in_rows = (rows >= top) & (rows < top + side_h)  # (B, H)
    in_cols = (cols >= left) & (cols < left + side_w)  # (B, W)
    keep = 1.0 - (in_rows[:, :, None] & in_cols[:, None, :]).astype(x.dtype)
    return x * keep[..., None]


def diff_augment(
    x: jax.Array, policy: Sequence[str], key: jax.Array, uniform: Uniform
) -> jax.Array:
    """T(x) for images x (B, H, W, C): the ops of `policy` in order, each with its own draws
    (op i uses key `fold_in(key, i)`, split once more for translation's and cutout's two axes).
    Differentiable in x. `uniform(key, B, *shape)` draws the per-image uniforms."""
    if not policy:
        return x
    batch, height, width, _ = x.shape
    ops = [op for name in policy for op in POLICIES[name]]
    for i, op in enumerate(ops):
        k = jax.random.fold_in(key, i)
        if op in ("brightness", "saturation", "contrast"):
            x = {"brightness": brightness, "saturation": saturation, "contrast": contrast}[op](
                x, uniform(k, batch)
            )
            continue
        kx, ky = jax.random.split(k)
        ux, uy = uniform(kx, batch), uniform(ky, batch)
        if op == "translation":
            sx, sy = _side(height, TRANSLATION_RATIO), _side(width, TRANSLATION_RATIO)
            x = translation(x, _int_draw(ux, -sx, 2 * sx + 1), _int_draw(uy, -sy, 2 * sy + 1))
        else:
            side_h, side_w = _side(height, CUTOUT_RATIO), _side(width, CUTOUT_RATIO)
            cx = _int_draw(ux, 0, height + 1 - side_h % 2)
            cy = _int_draw(uy, 0, width + 1 - side_w % 2)
            x = cutout(x, cx, cy)
    return x


def validate(
    config: ml_collections.ConfigDict | None, data_shape: Sequence[int]
) -> tuple[str, ...]:
    """The ops of `config.policy` (() when off), for `GANSpec.augment`; ConfigError for unknown
    ops or non-image data."""
    policy = parse_policy(config.get("policy", "") if config is not None else "")
    if policy and len(tuple(data_shape)) != 3:
        raise ConfigError(
            f"config.augment.policy={','.join(policy)!r} needs images (H, W, C), but the data "
            f"has shape {tuple(data_shape)}; set --config.augment.policy=''"
        )
    return policy
