"""G's exponential moving average (EMA), the one state transform every task uses for it.

ema ← ema + (1 − β)(θ − ema) after G's update (Karras et al. 2018, ProGAN, Sec. A.1; Yazıcı et
al. 2019): the same average as β·ema + (1 − β)·θ, written so that weights that did not move
(θ = ema: a skipped update, ProGAN's frozen equalized-learning-rate constants) stay exactly as
they are. Samples, evaluations and `gan_jax.load` use the average when a run keeps one.
"""

from __future__ import annotations

from typing import Any

import jax


def ema_update(ema: Any, params: Any, decay: float) -> Any:
    """One EMA step of `ema` towards `params` with decay β = `decay`."""
    return jax.tree.map(lambda e, p: e + (1.0 - decay) * (p - e), ema, params)


def update_g_ema(state: Any, decay: float) -> Any:
    """`state` with `g_ema_params` moved one EMA step towards `g_params` (any task state that
    has both); a no-op when the state holds no average (`g_ema_params` empty: a GAN run with
    `stabilizers.ema_decay` 0)."""
    if not jax.tree.leaves(state.g_ema_params):
        return state
    return state.replace(g_ema_params=ema_update(state.g_ema_params, state.g_params, decay))
