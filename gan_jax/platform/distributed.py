"""Multi-host runs on JAX's own runtime: `jax.distributed.initialize` and process-0 helpers.

A multi-host run is one Python process per host (or per GPU), all running the same command.
`initialize` joins them before any other JAX use; from then on `jax.devices()` lists every
device of every process, the train step runs over all of them, each process reads only its own
rows of every global batch (`gan_jax.data`), every process calls the checkpoint save (orbax
writes collectively), and only process 0 writes the run's other files (config.json,
metrics.json, history, sample pictures, TensorBoard events): `is_primary` guards the file
writer (`gan_jax.platform.files`), so every
process runs the same code, collectives included, and only the writes are skipped.

How the processes find each other (`mode`):

- `auto` (default): join when the coordinator is given (arguments or `JAX_COORDINATOR_ADDRESS`),
  or when a multi-process launcher is detected: SLURM (`srun` with more than one task) or Open
  MPI (`mpirun -n N`, N > 1). Otherwise run as a single process.
- `on`: always join; what is not given explicitly JAX detects from the cluster (Cloud TPU VM
  pods, SLURM, Open MPI, Kubernetes). `launch/tpu_pod.sh` uses this on every TPU worker.
- `off`: never join (one process, even under SLURM).

On CPU the processes exchange data through gloo (`jax_cpu_collectives_implementation`), which
is how `tests/test_multihost.py` runs a real 2-process job on one machine.
"""

from __future__ import annotations

import os
import sys

from gan_jax.errors import ConfigError

MODES = ("auto", "on", "off")


def _launcher_processes() -> int:
    """Processes started by a detected launcher (SLURM or Open MPI), else 1."""
    slurm = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID")
    if all(v in os.environ for v in slurm):
        return int(os.environ["SLURM_NTASKS"])
    return int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))


def _check_args(coordinator: str | None, num_processes: int | None, process_id: int | None):
    if coordinator:
        host, sep, port = coordinator.rpartition(":")
        if not (host and sep and port.isdigit()):
            raise ConfigError(
                f"--coordinator={coordinator!r} must look like HOST:PORT "
                "(process 0's address and a free port, the same on every process)"
            )
    if num_processes is not None and num_processes < 1:
        raise ConfigError(f"--num_processes={num_processes} must be >= 1")
    if None not in (process_id, num_processes) and not 0 <= process_id < num_processes:
        raise ConfigError(
            f"--process_id={process_id} must be in 0..{num_processes - 1} "
            f"(--num_processes={num_processes})"
        )


def should_initialize(
    mode: str,
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """Whether `initialize` with these arguments joins a multi-process run (see the module
    docstring for the modes); raises ConfigError on a bad mode or inconsistent arguments."""
    if mode not in MODES:
        raise ConfigError(f"--distributed={mode!r} is not valid; choose one of: {', '.join(MODES)}")
    _check_args(coordinator, num_processes, process_id)
    explicit = coordinator or num_processes is not None or process_id is not None
    if mode == "off":
        if explicit:
            raise ConfigError(
                "--distributed=off contradicts --coordinator/--num_processes/--process_id; "
                "drop those flags or use --distributed=auto"
            )
        return False
    if mode == "on" or explicit or os.environ.get("JAX_COORDINATOR_ADDRESS"):
        return True
    return _launcher_processes() > 1


def initialize(
    mode: str = "auto",
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """Join the multi-process run if `mode` and the environment say so; True if it joined.

    Call this first, before anything touches a JAX backend (`jax.devices()`, any array): JAX
    refuses to initialize afterwards. Arguments left None are detected by JAX from the cluster
    environment; a coordinator without the process count and id (or the reverse) outside a
    detected cluster is a ConfigError.
    """
    if not should_initialize(mode, coordinator, num_processes, process_id):
        return False
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU-only runs and tests
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator, num_processes=num_processes, process_id=process_id
        )
    except ValueError as e:  # JAX found no cluster to fill in what was not given
        raise ConfigError(
            f"cannot start a multi-process run ({e}); pass --coordinator=HOST:PORT "
            "--num_processes=N --process_id=I, or launch under SLURM / on a TPU pod"
        ) from None
    return True


def is_primary() -> bool:
    """True in the process that writes the run's files: process 0 of a multi-process run, or
    any process that never joined one. It neither imports JAX nor starts a backend, so file
    writer (`gan_jax.platform.files`) calls it for free in notebooks and tools."""
    jax = sys.modules.get("jax")
    return jax is None or not jax.distributed.is_initialized() or jax.process_index() == 0


def describe() -> str:
    """`process I of N, L local / G global DEVICE devices`, for the run's log."""
    import jax

    return (
        f"process {jax.process_index()} of {jax.process_count()}, "
        f"{jax.local_device_count()} local / {jax.device_count()} global "
        f"{jax.devices()[0].platform} device(s)"
    )
