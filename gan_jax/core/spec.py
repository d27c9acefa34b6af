"""`GANSpec`: the static parts of a GAN train step, and its extension points.

The step (`gan_jax.core.step`) is fixed; what a family or a stabilizer changes is declared here:

* `d_terms` / `g_terms`: regularizers added to D's or G's loss, each with its own (lazy)
  schedule and optional state (`gan_jax.core.terms`: R1, GP, orthogonal, or any registered one);
* `augment`: what D sees of the images, possibly with state such as ADA's p
  (`gan_jax.core.augmentation`; DiffAugment is one);
* `ema_decay`: G's weight average, one state transform (`gan_jax.core.ema`);
* the stabilizers of the walkthroughs: margin-based skipping (`skip_margin`, `skip_rule`) and
  the adaptive L2 penalty on D (`adaptive_l2`, `gan_jax.core.stabilizers`).

State that a hook or term carries lives in `GANState.extensions` (see `extensions_init`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import ml_collections
import optax

from gan_jax.core.augmentation import Augmentation
from gan_jax.core.terms import Term
from gan_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class GANSpec:
    """Networks, loss, optimizers, shapes and the extension points of the module docstring.

    `adaptive_l2` is the config's `stabilizers` block when its `adaptive_l2` is on (read for its
    `l2_*` band fields), else None.
    """

    generator: nn.Module
    discriminator: nn.Module
    loss: Any  # a gan_jax.losses.GANLoss
    g_tx: optax.GradientTransformation
    d_tx: optax.GradientTransformation
    latent_dim: int
    num_classes: int = 0
    n_critic: int = 1
    n_gen: int = 1
    ema_decay: float = 0.0
    skip_margin: float = 0.0
    skip_rule: str = "either"
    augment: Augmentation | None = None
    adaptive_l2: ml_collections.ConfigDict | None = None
    d_terms: tuple[Term, ...] = ()
    g_terms: tuple[Term, ...] = ()

    def __post_init__(self) -> None:
        for field in ("n_critic", "n_gen"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"config.train.{field}={value!r} must be an integer >= 1")
        for side, terms in (("d", self.d_terms), ("g", self.g_terms)):
            if any(t.side != side for t in terms):
                raise ValueError(f"GANSpec.{side}_terms holds a term of the other side")
            if len({t.name for t in terms}) != len(terms):
                raise ValueError(f"GANSpec.{side}_terms has two terms of the same name")


def extensions_init(spec: GANSpec) -> dict[str, Any]:
    """The `GANState.extensions` a fresh run starts with: the augmentation hook's state and
    each stateful term's, by name; {} when nothing carries state (then checkpoints are as
    before the extension points existed)."""
    out: dict[str, Any] = {}
    if spec.augment is not None:
        aug = spec.augment.init_state()
        if aug:
            out["augment"] = aug
    terms = {t.name: t.init_state() for t in (*spec.d_terms, *spec.g_terms)}
    terms = {name: s for name, s in terms.items() if s}
    if terms:
        out["terms"] = terms
    return out
