"""Regularizer terms: what a train step adds to one network's loss, each with its own schedule.

A `Term` is `weight · value(inputs)` in D's loss (`side='d'`) or G's (`side='g'`). With
`interval` k > 1 it is lazy (Karras et al. 2020, StyleGAN2, Sec. 3.1): the value is computed only
on the steps where `step % k == 0`, and `weight` already holds the factor k, so the term's
average pull is that of the unlazy one. A term may carry state (a running mean, as StyleGAN2's
path-length penalty does): `init_state()` gives it, `value` returns the new one, and the step
keeps it in the train state (`GANState.extensions['terms'][name]`), so it is checkpointed and a
resumed run continues it exactly.

Built-in terms, by name (`register` adds more, from any module, without editing this one):

* D: `r1` (Mescheder et al. 2018), (γ/2)·E‖∇ₓD(x)‖² on real data; `gp` (Gulrajani et al.
  2017), λ·E(‖∇D(x̂)‖₂ − 1)² on random interpolates. Both in `gan_jax.core.regularizers`,
  chosen by `stabilizers.regularizer` with `regularizer_weight` and `regularizer_interval`.
* G: `orthogonal` (Brock et al. 2019, BigGAN, Sec. 3.1): β·½ Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F over G's
  kernels, W with one row per output unit (the reference code's `ortho`, whose gradient
  2 (W Wᵀ ⊙ (1 − I)) W it adds to G's gradient; ½ makes the two equal). Chosen by
  `stabilizers.g_regularizer` with `g_regularizer_weight` and `g_regularizer_interval`.

ProGAN's ε-drift E D(x)² stays part of its loss (`losses.wgan`'s `drift` option), as the paper
writes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from gan_jax.core.regularizers import gradient_penalty, penalty_scale, r1_penalty
from gan_jax.errors import ConfigError

SIDES = ("d", "g")


class DInputs(NamedTuple):
    """What a D term sees: D as a function of its (packed) inputs, real and fake inputs, the
    term's key (GP draws its mixing weights from it), and `uniform(key, n)`, per-example
    uniforms drawn for the global batch."""

    d_fn: Callable[[jax.Array], jax.Array]
    real: jax.Array
    fake: jax.Array
    key: jax.Array
    uniform: Callable[[jax.Array, int], jax.Array]


class GInputs(NamedTuple):
    """What a G term sees: G's parameters, G as a function of (params, z), the batch's z and
    labels, and a key."""

    g_params: Any
    g_fn: Callable[[Any, jax.Array], jax.Array]
    z: jax.Array
    key: jax.Array


@dataclasses.dataclass(frozen=True)
class Term:
    """One regularizer of one network's loss (see the module docstring).

    `value(inputs, state) -> (value, state)` computes the unweighted term; `weight` multiplies
    it on the steps it is due (interval included)."""

    name: str
    side: str
    weight: float
    value: Callable[[Any, Any], tuple[jax.Array, Any]]
    interval: int = 1
    init_state: Callable[[], Any] = dict

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"Term side must be one of {SIDES}, got {self.side!r}")
        if self.interval < 1:
            raise ValueError(f"Term interval must be >= 1, got {self.interval}")

    def due(self, inputs: Any, state: Any, step: jax.Array) -> tuple[jax.Array, Any]:
        """(value, state) on the steps the term is due; (0, state unchanged) on the others."""
        if self.interval == 1:
            return self.value(inputs, state)
        return lax.cond(
            step % self.interval == 0,
            lambda: self.value(inputs, state),
            lambda: (jnp.zeros((), jnp.float32), state),
        )


# (weight, interval) -> Term, by side and name.
Factory = Callable[[float, int], Term]
_REGISTRY: dict[str, dict[str, Factory]] = {side: {} for side in SIDES}


def register(side: str, name: str, factory: Factory) -> None:
    """Make `name` a choice of the `side` regularizer field (`stabilizers.regularizer` for D,
    `stabilizers.g_regularizer` for G)."""
    _REGISTRY[side][name] = factory


def names(side: str) -> list[str]:
    """The choices of one side's regularizer field, 'none' first."""
    return ["none", *sorted(_REGISTRY[side])]


def make(side: str, name: str, weight: float, interval: int) -> tuple[Term, ...]:
    """The terms of one side's config choice: () for 'none'."""
    if name == "none":
        return ()
    field = "regularizer" if side == "d" else "g_regularizer"
    if name not in _REGISTRY[side]:
        raise ConfigError(
            f"config.stabilizers.{field}={name!r} is not valid; choose one of: "
            f"{', '.join(names(side))}"
        )
    if weight < 0:
        raise ConfigError(f"config.stabilizers.{field}_weight={weight} must be >= 0")
    if interval < 1:
        raise ConfigError(f"config.stabilizers.{field}_interval={interval} must be >= 1")
    return (_REGISTRY[side][name](weight, interval),)


def _r1(inputs: DInputs, state: Any) -> tuple[jax.Array, Any]:
    return r1_penalty(inputs.d_fn, inputs.real), state


def _gp(inputs: DInputs, state: Any) -> tuple[jax.Array, Any]:
    eps = inputs.uniform(inputs.key, inputs.real.shape[0])
    return gradient_penalty(inputs.d_fn, inputs.real, inputs.fake, eps), state


def orthogonality(params: Any) -> jax.Array:
    """½ Σ_W ‖W Wᵀ ⊙ (1 − I)‖²_F over every `kernel` of `params` (rows: output units)."""
    total = jnp.zeros((), jnp.float32)
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        if getattr(path[-1], "key", None) != "kernel" or leaf.ndim < 2:
            continue
        w = leaf.reshape((-1, leaf.shape[-1])).T.astype(jnp.float32)
        gram = w @ w.T
        total = total + 0.5 * jnp.sum(jnp.square(gram * (1.0 - jnp.eye(gram.shape[0]))))
    return total


def _orthogonal(inputs: GInputs, state: Any) -> tuple[jax.Array, Any]:
    return orthogonality(inputs.g_params), state


register("d", "r1", lambda w, k: Term("r1", "d", penalty_scale("r1", w, k), _r1, k))
register("d", "gp", lambda w, k: Term("gp", "d", penalty_scale("gp", w, k), _gp, k))
register("g", "orthogonal", lambda w, k: Term("orthogonal", "g", w * k, _orthogonal, k))


def apply_terms(
    terms: tuple[Term, ...], inputs: Any, states: dict[str, Any], step: jax.Array
) -> tuple[jax.Array, jax.Array, dict[str, Any]]:
    """(Σ weight·value, Σ value, the terms' new states) of `terms` at `step`."""
    weighted = unweighted = jnp.zeros((), jnp.float32)
    new_states = dict(states)
    for term in terms:
        value, new_states[term.name] = term.due(inputs, states.get(term.name, {}), step)
        weighted = weighted + term.weight * value
        unweighted = unweighted + value
    return weighted, unweighted, new_states
