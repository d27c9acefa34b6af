"""Placing a task's train step on devices: where arrays live (`Placement`), and the compiled
step bound to one (`Runner`, and `StepRunner` for tasks that compile more than one step).

A `Placement` puts the state, each batch, the step's key and any constants on the devices and
brings back host copies; it knows nothing of the step. Two layouts, both of which reproduce the
1-device trajectory for the same global batch (BatchNorm aside, see `gan_jax.core.step`):

- `sharded` (default; one device is a 1-device mesh): `jax.jit` with the state replicated and
  the batch split over a 1-D `Mesh(devices, ('data',))`; the state buffers are donated. This is
  JAX's recommended path.
- `pmap`: `jax.pmap` over the local devices with `axis_name='batch'` (users ask for it); the
  state carries a leading device axis, which `host_state` strips by reading device 0's shard (no
  gather).

`Placement.compile(step, ...)` is the one place a pure step `(state, batch, rng[, constants])`
becomes the jitted or pmapped function for that layout.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from gan_jax.config import choice
from gan_jax.core.spec import GANSpec
from gan_jax.core.step import make_multi_step, make_train_step
from gan_jax.errors import ConfigError

# (axis_name, num_devices, latent_sharding) -> the pure step `(state, batch, rng[, constants])`.
StepFactory = Callable[[str | None, int, NamedSharding | None], Callable[..., Any]]

AXIS = "batch"
PARALLEL_MODES = ("sharded", "pmap")  # config.parallel


def select_devices(num_devices: int) -> list[jax.Device]:
    """The first `num_devices` devices (0 = all); error if more are asked than exist."""
    devices = jax.devices()
    if jax.process_count() > 1 and num_devices not in (0, len(devices)):
        raise ConfigError(
            f"config.num_devices={num_devices} in a {jax.process_count()}-process run; "
            "multi-process runs use every device of every process: set --config.num_devices=0"
        )
    if num_devices > len(devices):
        raise ConfigError(
            f"config.num_devices={num_devices} but only {len(devices)} "
            f"{devices[0].platform} device(s) exist; set --config.num_devices=0 to use all"
        )
    return devices[: num_devices or None]


class Placement(abc.ABC):
    """Where a task's arrays live (see the module docstring). `multi` = batches are stacked
    `(k, global_batch, ...)` for `k` steps per dispatch."""

    mode: str

    def __init__(self, devices: list[jax.Device], multi: bool = False) -> None:
        self.devices, self.num_devices, self.multi = devices, len(devices), multi

    def check_batch_size(self, batch_size: int) -> None:
        """The global batch must split evenly over the devices."""
        if batch_size % self.num_devices:
            raise ConfigError(
                f"config.data.batch_size={batch_size} is not divisible by the {self.num_devices} "
                f"devices in use; pick a multiple of {self.num_devices} or set config.num_devices"
            )

    @abc.abstractmethod
    def compile(self, step: Callable[..., Any], num_args: int) -> Callable[..., Any]:
        """`step` (with `num_args` positional arguments: 3, or 4 with constants) compiled for
        this layout."""

    @abc.abstractmethod
    def step_axis(self) -> tuple[str | None, int, NamedSharding | None]:
        """The (axis_name, num_devices, latent_sharding) a `StepFactory` builds the step for."""

    @abc.abstractmethod
    def place_state(self, state: Any) -> Any:
        """Put a (host or single-device) state where the step expects it."""

    @abc.abstractmethod
    def place_batch(self, batch: dict[str, np.ndarray]) -> Any:
        """Split a host batch over the devices. In a multi-process run `batch` is this process's
        rows of the global batch (each process reads its own slice, see `gan_jax.data`); they
        become one global array."""

    @abc.abstractmethod
    def place_rng(self, rng: jax.Array) -> jax.Array:
        """The step's base key, where the step expects it."""

    @abc.abstractmethod
    def place_constants(self, constants: Any) -> Any:
        """Constants of the step (e.g. a frozen generator's weights), placed once."""

    def host_state(self, state: Any) -> Any:
        """A copy of the state without the device axis (pmap) — for saving and sampling."""
        return state

    def host_metrics(self, metrics: Any) -> dict[str, float]:
        """Fetch metrics to Python floats (this syncs with the device)."""
        return {k: float(v) for k, v in jax.device_get(metrics).items()}


class ShardedPlacement(Placement):
    """jit with the state replicated and the batch split over a 1-D mesh."""

    mode = "sharded"

    def __init__(self, devices: list[jax.Device], multi: bool = False) -> None:
        super().__init__(devices, multi)
        self.mesh = Mesh(np.asarray(devices), ("data",))
        self._replicated = NamedSharding(self.mesh, P())
        self._data = NamedSharding(self.mesh, P(None, "data") if multi else P("data"))

    def compile(self, step: Callable[..., Any], num_args: int) -> Callable[..., Any]:
        r = self._replicated
        return jax.jit(
            step,
            in_shardings=(r, self._data, r, r)[:num_args],
            out_shardings=(r, r),
            donate_argnums=0,
        )

    def step_axis(self) -> tuple[str | None, int, NamedSharding | None]:
        return None, 1, NamedSharding(self.mesh, P("data"))

    def place_state(self, state: Any) -> Any:
        return jax.device_put(state, self._replicated)

    def place_batch(self, batch: dict[str, np.ndarray]) -> Any:
        return _put_process_rows(batch, self._data)

    def place_rng(self, rng: jax.Array) -> jax.Array:
        return jax.device_put(rng, self._replicated)

    def place_constants(self, constants: Any) -> Any:
        return jax.device_put(constants, self._replicated)


class PmapPlacement(Placement):
    """pmap over the local devices; every array carries a leading device axis."""

    mode = "pmap"

    def compile(self, step: Callable[..., Any], num_args: int) -> Callable[..., Any]:
        return jax.pmap(
            step,
            axis_name=AXIS,
            devices=self.devices,
            in_axes=(0, 0, 0, None)[:num_args],
            donate_argnums=0,
        )

    def step_axis(self) -> tuple[str | None, int, NamedSharding | None]:
        return AXIS, self.num_devices, None

    def place_state(self, state: Any) -> Any:
        n = self.num_devices
        stacked = jax.tree.map(lambda x: np.broadcast_to(np.asarray(x), (n, *x.shape)), state)
        return _put_pmap(stacked, self.devices)

    def place_batch(self, batch: dict[str, np.ndarray]) -> Any:
        n = self.num_devices // jax.process_count()  # this process's devices
        axis = 1 if self.multi else 0

        def split(x: np.ndarray) -> np.ndarray:
            shape = x.shape[:axis] + (n, x.shape[axis] // n) + x.shape[axis + 1 :]
            return np.ascontiguousarray(np.moveaxis(x.reshape(shape), axis, 0))

        pmap_sharding = NamedSharding(Mesh(np.asarray(self.devices), (AXIS,)), P(AXIS))
        return _put_process_rows(jax.tree.map(split, batch), pmap_sharding)

    def place_rng(self, rng: jax.Array) -> jax.Array:
        return _put_pmap(
            np.broadcast_to(np.asarray(rng), (self.num_devices, *rng.shape)), self.devices
        )

    def place_constants(self, constants: Any) -> Any:
        return constants  # pmap broadcasts an argument with in_axes None

    def host_state(self, state: Any) -> Any:
        return jax.tree.map(_first_replica, state)

    def host_metrics(self, metrics: Any) -> dict[str, float]:
        return super().host_metrics(jax.tree.map(_first_replica, metrics))


def placement(mode: str, devices: list[jax.Device], steps_per_dispatch: int = 1) -> Placement:
    """The `config.parallel` layout over `devices`."""
    choice(mode, PARALLEL_MODES, "parallel")
    cls = PmapPlacement if mode == "pmap" else ShardedPlacement
    return cls(devices, multi=steps_per_dispatch > 1)


class StepRunner:
    """What the training loop drives: a placement plus `step(state, batch, rng)`. Placement
    calls are the placement's; subclasses say which compiled step runs."""

    steps_per_dispatch = 1

    def __init__(self, layout: Placement) -> None:
        self.placement = layout
        self.mode, self.devices, self.num_devices = layout.mode, layout.devices, layout.num_devices

    def check_batch_size(self, batch_size: int) -> None:
        self.placement.check_batch_size(batch_size)

    def place_state(self, state: Any) -> Any:
        return self.placement.place_state(state)

    def place_batch(self, batch: dict[str, np.ndarray]) -> Any:
        return self.placement.place_batch(batch)

    def place_rng(self, rng: jax.Array) -> jax.Array:
        return self.placement.place_rng(rng)

    def host_state(self, state: Any) -> Any:
        return self.placement.host_state(state)

    def host_metrics(self, metrics: Any) -> dict[str, float]:
        return self.placement.host_metrics(metrics)

    def step(self, state: Any, batch: Any, rng: jax.Array) -> tuple[Any, Any]:
        raise NotImplementedError


class Runner(StepRunner):
    """One compiled train step bound to a placement, for any task's step.

    `make_step(axis_name, num_devices, latent_sharding)` builds the task's pure step; a
    `GANSpec` stands for `functools.partial(make_train_step, spec)`. `step(state, batch, rng)`
    takes a placed batch (`place_batch`) whose leading axis is the global batch, or
    `(k, global_batch, ...)` when `steps_per_dispatch=k > 1`. `constants` (e.g. an encoder's
    frozen generator weights) are placed once and passed to the step as a fourth argument.
    `layout` is a `Placement` or a `config.parallel` mode name (then `devices` say where).
    """

    def __init__(
        self,
        make_step: StepFactory | GANSpec,
        layout: Placement | str,
        devices: list[jax.Device] | None = None,
        steps_per_dispatch: int = 1,
        constants: Any = None,
    ) -> None:
        if isinstance(layout, str):
            layout = placement(layout, devices or select_devices(0), steps_per_dispatch)
        super().__init__(layout)
        if isinstance(make_step, GANSpec):
            make_step = functools.partial(make_train_step, make_step)
        self.steps_per_dispatch = steps_per_dispatch
        step = make_step(*layout.step_axis())
        step = make_multi_step(step) if steps_per_dispatch > 1 else step
        self._step = layout.compile(step, 3 if constants is None else 4)
        self._extra = () if constants is None else (layout.place_constants(constants),)

    def step(self, state: Any, batch: Any, rng: jax.Array) -> tuple[Any, Any]:
        return self._step(state, batch, rng, *self._extra)

    def compile(self, state: Any, batch: Any, rng: jax.Array) -> Any:
        """The step compiled ahead of time for these placed arguments (`lower().compile()`):
        callable like `step`, with XLA's `cost_analysis()` (for benchmarks)."""
        return self._step.lower(state, batch, rng, *self._extra).compile()


def _first_replica(x: jax.Array) -> jax.Array:
    """Device 0's slice of a pmapped array, without gathering the others."""
    return x.addressable_shards[0].data.reshape(x.shape[1:])


def _put_process_rows(tree: Any, sharding: NamedSharding) -> Any:
    """Place this process's rows of each array: a device_put in a single-process run, the global
    array assembled from every process's rows in a multi-process one."""
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x), tree)


def _put_pmap(tree: Any, devices: list[jax.Device]) -> Any:
    """Place arrays with a leading device axis, one slice per device, as pmap expects."""
    sharding = NamedSharding(Mesh(np.asarray(devices), (AXIS,)), P(AXIS))
    return jax.tree.map(lambda x: jax.device_put(np.ascontiguousarray(x), sharding), tree)
