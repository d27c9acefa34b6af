"""Where gan_jax keeps files it can rebuild: compiled XLA programs, feature-network weights.

`$GAN_JAX_CACHE` when set, else `$XDG_CACHE_HOME/gan_jax`, else `~/.cache/gan_jax`.
Everything under it may be deleted at any time; it is recreated (recompiled, retrained or
reconverted) on demand.
"""

from __future__ import annotations

import os


def cache_dir(*parts: str) -> str:
    """The cache root joined with `parts` (not created; callers make what they write into)."""
    root = os.environ.get("GAN_JAX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gan_jax"
    )
    return os.path.join(root, *parts)
