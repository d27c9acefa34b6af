"""Training stabilizers applied inside the jitted step: update skipping, adaptive L2 on D, EMA.

- Margin-based update skipping (the torch-faces post, Boesen Larsen & Sønderby 2015): with D's
  errors e_real = E −log σ(D(x)) and e_fake = E −log(1 − σ(D(G(z)))) measured in D's forward
  pass and m = `stabilizers.skip_margin` (0 = off; the post used 0.3). `skip_rule='either'`
  (default) is the post's Lua code exactly: D's update is skipped when *either* error is below
  m (`err_F < margin or err_R < margin`), G's when *either* is above 1 − m; if both would be
  skipped, both are updated. `skip_rule='both'` (gan_jax ≤ 0.2) needs both errors past the
  margin. Needs a logistic loss.
- Adaptive L2 penalty on D (same seed): D's loss gains w·½Σ‖W‖² over its weight matrices/kernels;
  after each step w rises by `l2_step` while G's loss is above the band [`l2_band_low`,
  `l2_band_high`] (D is winning) and falls by `l2_step` below it, clipped to [0, `l2_max`].
- EMA of G's weights (Yazıcı et al. 2019; Karras et al. 2018): after each G update,
  ema ← decay·ema + (1 − decay)·params. Samples use the EMA weights when `ema_decay` > 0.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from gan_jax import config as config_lib
from gan_jax.core import terms
from gan_jax.errors import ConfigError


def discriminator_errors(real_logits: jax.Array, fake_logits: jax.Array) -> tuple[jax.Array, ...]:
    """(e_real, e_fake): D's mean binary cross-entropy on real and on generated samples."""
    return jnp.mean(jax.nn.softplus(-real_logits)), jnp.mean(jax.nn.softplus(fake_logits))


SKIP_RULES = ("either", "both")


def skip_decisions(
    e_real: jax.Array, e_fake: jax.Array, margin: float, rule: str = "either"
) -> tuple[jax.Array, ...]:
    """(skip_d, skip_g) booleans for margin `margin` and `rule` (see the module docstring);
    never both True."""
    join = jnp.logical_or if rule == "either" else jnp.logical_and
    too_good = join(e_real < margin, e_fake < margin)
    too_bad = join(e_real > 1.0 - margin, e_fake > 1.0 - margin)
    both = too_good & too_bad
    return too_good & ~both, too_bad & ~both


def keep_if(skip: jax.Array, old: Any, new: Any) -> Any:
    """`old` where `skip`, else `new`, leaf by leaf (bit-identical when skipped)."""
    return jax.tree.map(lambda o, n: jnp.where(skip, o, n), old, new)


def l2_of_weights(params: Any) -> jax.Array:
    """½Σ‖W‖² over weight matrices and conv kernels (not biases or norm scales)."""
    leaves = [p for p in jax.tree.leaves(params) if p.ndim >= 2]
    return 0.5 * sum(jnp.sum(jnp.square(p.astype(jnp.float32))) for p in leaves)


def adapt_l2_weight(weight: jax.Array, g_loss: jax.Array, balance: ml_collections.ConfigDict):
    """One step of the adaptive L2 weight rule (see the module docstring)."""
    delta = jnp.where(g_loss > balance.l2_band_high, balance.l2_step, 0.0) - jnp.where(
        g_loss < balance.l2_band_low, balance.l2_step, 0.0
    )
    return jnp.clip(weight + delta, 0.0, balance.l2_max)


# Fields read only while a switch is on: (fields, the switch's field, is it on?, how to turn
# it on). Off, they must keep their defaults (`gan_jax.config.stabilizers_config`).
_SWITCHED = (
    (
        ("regularizer_weight", "regularizer_interval"),
        "regularizer",
        lambda st: st.regularizer != "none",
        "--config.stabilizers.regularizer=r1 (or gp)",
    ),
    (
        ("g_regularizer_weight", "g_regularizer_interval"),
        "g_regularizer",
        lambda st: st.g_regularizer != "none",
        "--config.stabilizers.g_regularizer=orthogonal",
    ),
    (
        ("l2_band_low", "l2_band_high", "l2_step", "l2_max"),
        "adaptive_l2",
        lambda st: st.adaptive_l2,
        "--config.stabilizers.adaptive_l2=True",
    ),
    (
        ("skip_rule",),
        "skip_margin",
        lambda st: st.skip_margin > 0,
        "--config.stabilizers.skip_margin=M (> 0)",
    ),
)


def check_switched(st: ml_collections.ConfigDict) -> None:
    """ConfigError for a field set while the switch that makes it read is off."""
    defaults = config_lib.stabilizers_config()
    for fields, switch, is_on, turn_on in _SWITCHED:
        if switch not in st or is_on(st):
            continue
        for field in fields:
            if field in st and st[field] != defaults[field]:
                raise ConfigError(
                    f"config.stabilizers.{field}={st[field]!r} is only read when "
                    f"stabilizers.{switch} is on; set {turn_on} or remove it"
                )


def validate(st: ml_collections.ConfigDict, loss_name: str, logistic: bool) -> None:
    """Check the `stabilizers` block against itself and the loss (its `d_*` fields are checked
    by `gan_jax.models`, which builds them into the discriminator). A task's block may lack
    the fields it does not read (`gan_jax.tasks.reads`)."""
    check_switched(st)
    if not 0.0 <= st.skip_margin < 0.5:
        raise ConfigError(f"config.stabilizers.skip_margin={st.skip_margin} must be in [0, 0.5)")
    config_lib.choice(st.get("skip_rule", "either"), SKIP_RULES, "stabilizers.skip_rule")
    if st.skip_margin > 0 and not logistic:
        raise ConfigError(
            f"config.stabilizers.skip_margin needs a logistic loss (bce, bce_smoothed, ...), "
            f"not {loss_name!r}; set --config.stabilizers.skip_margin=0"
        )
    if st.get("adaptive_l2") and not st.l2_band_low <= st.l2_band_high:
        raise ConfigError(
            f"config.stabilizers.l2_band_low={st.l2_band_low} must be <= "
            f"l2_band_high={st.l2_band_high}"
        )
    if not 0.0 <= st.get("ema_decay", 0.0) < 1.0:
        raise ConfigError(f"config.stabilizers.ema_decay={st.ema_decay} must be in [0, 1)")
    for net, p in (("d", ""), ("g", "g_")):
        if f"{p}regularizer" in st:
            terms.make(
                net,
                st[f"{p}regularizer"],
                st[f"{p}regularizer_weight"],
                st[f"{p}regularizer_interval"],
            )
