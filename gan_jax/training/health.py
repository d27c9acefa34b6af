"""The dead-run warning: training that still runs but no longer learns.

A NaN stops a run (`TrainingDiverged`), but a dead one keeps going and wastes the allocation:
Adam at lr=1e6 leaves the generator with dead ReLUs or a saturated tanh output and a gradient
norm of exactly 0, and a discriminator that classifies every real and generated sample
correctly leaves the generator (with the saturating loss) almost no gradient. `DeadRunWatch`
looks at the logged rows (`g_grad_norm`, `d_grad_norm`, `d_accuracy`, each a mean over a
dispatch) and warns once per condition when it holds in `WINDOW` consecutive rows, naming the
likely cause. Tasks that log none of these keys are never warned.
"""

from __future__ import annotations

from collections.abc import Callable

from absl import logging

WINDOW = 2  # consecutive logged rows
ZERO = 1e-12


def _dead_g(m: dict[str, float]) -> bool:
    return "g_grad_norm" in m and abs(m["g_grad_norm"]) <= ZERO


def _dead_d(m: dict[str, float]) -> bool:
    return "d_grad_norm" in m and abs(m["d_grad_norm"]) <= ZERO


def _saturated_d(m: dict[str, float]) -> bool:
    return m.get("d_accuracy", 0.0) >= 1.0


CONDITIONS: dict[str, tuple[Callable[[dict[str, float]], bool], str]] = {
    "g": (
        _dead_g,
        "the generator's gradient norm has been 0 since step {since}: G has stopped learning "
        "(likely cause: a learning rate so high that its units died or its output saturated); "
        "lower --config.g_optimizer.lr and start again in a new --workdir",
    ),
    "d": (
        _dead_d,
        "the discriminator's gradient norm has been 0 since step {since}: D has stopped "
        "learning (likely cause: a learning rate so high that its units died or its output "
        "saturated); lower --config.d_optimizer.lr and start again in a new --workdir",
    ),
    "accuracy": (
        _saturated_d,
        "the discriminator has told every real from every generated sample since step {since} "
        "(d_accuracy=1): G's gradient vanishes (likely cause: D much stronger than G); try a "
        "lower --config.d_optimizer.lr, another --config.loss or the stabilizers",
    ),
}


class DeadRunWatch:
    """Feed it each logged row (`update(step, metrics)`); returns the warnings it logged."""

    def __init__(self) -> None:
        self._since: dict[str, int] = {}
        self._count: dict[str, int] = {}
        self._warned: set[str] = set()

    def update(self, step: int, metrics: dict[str, float]) -> list[str]:
        out = []
        for name, (holds, message) in CONDITIONS.items():
            if not holds(metrics):
                self._count[name] = 0
                continue
            if not self._count.get(name):
                self._since[name] = step
            self._count[name] = self._count.get(name, 0) + 1
            if self._count[name] >= WINDOW and name not in self._warned:
                self._warned.add(name)
                line = message.format(since=self._since[name])
                logging.warning("Dead run: %s", line)
                out.append(line)
        return out
