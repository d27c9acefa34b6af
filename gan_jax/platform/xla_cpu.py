"""XLA:CPU settings for speed on CPU, applied by an explicit call: Eigen convolutions, plain
scheduler.

Measured on our 2-core AVX-512 machine with jaxlib 0.10.2 (interleaved runs, README "Speed on
CPU"):

* `--xla_cpu_experimental_ynn_fusion_type=-individual_convolution`: CPU convolutions by XLA's
  Eigen kernels instead of YNNPACK (jaxlib 0.10's default), 1.2-1.6x faster for the DCGAN
  layers (celeba64 train step ~700 -> ~600 ms) and 3.3x for the FID InceptionV3 (7.1 -> 23.8
  images/s). Matrix products stay with YNNPACK.
* `--xla_cpu_enable_concurrency_optimized_scheduler=false`: XLA's default instruction order
  instead of the one that runs independent ops side by side, which on 2 cores made them fight
  over the threads (celeba64 597-632 -> 575-585 ms, mnist_dcgan 134-139 -> 123-135 ms).

`import gan_jax` sets none of them: `XLA_FLAGS` is the whole process's, and other JAX code in
the same notebook must not change behaviour because gan_jax was imported. `configure_cpu()`
(also `gan_jax.platform.configure_cpu`) adds them; every `python -m experiments.*` command calls
it first. The flags change which kernel computes each float32 op and in what order, not the
math. Accelerators ignore XLA:CPU flags.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import warnings

FLAGS = {
    "xla_cpu_experimental_ynn_fusion_type": "-individual_convolution",
    "xla_cpu_enable_concurrency_optimized_scheduler": "false",
}
OPT_OUT = "GAN_JAX_XLA_DEFAULTS"
CHECKED_JAXLIB = ((0, 10), (0, 11))  # major.minor releases that parse FLAGS


def _jaxlib_checked() -> bool:
    try:
        major, minor = importlib.metadata.version("jaxlib").split(".")[:2]
        return (int(major), int(minor)) in CHECKED_JAXLIB
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False


def _backends_running() -> bool:
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):
        return True  # cannot tell: leave XLA_FLAGS alone


def configure_cpu() -> list[str]:
    """Append gan_jax's XLA:CPU flags (`FLAGS`, module docstring) to `XLA_FLAGS`; returns the
    flags it appended (`[]` when none).

    Call it before your first JAX computation: XLA reads `XLA_FLAGS` once, when JAX starts its
    backends (the first array, `jax.devices()`, the first jit). In a notebook, run it in the
    first cell, right after `import gan_jax`:

        import gan_jax
        gan_jax.platform.configure_cpu()  # faster CPU convolutions; before any JAX computation

    It appends nothing when `GAN_JAX_XLA_DEFAULTS=1` is set (keep XLA's defaults) or the
    installed jaxlib is not one whose XLA parses these flags (`CHECKED_JAXLIB`; an unknown XLA
    flag aborts the process), and skips each flag `XLA_FLAGS` already names (yours wins). When
    JAX's backends are already running it changes nothing and warns (`RuntimeWarning`) which
    flags came too late: restart the process (the notebook's kernel) and call it first.
    Calling it again is harmless. Accelerators ignore these flags.
    """
    if os.environ.get(OPT_OUT) == "1" or not _jaxlib_checked():
        return []
    flags = os.environ.get("XLA_FLAGS", "")
    missing = [f"--{name}={value}" for name, value in FLAGS.items() if name not in flags]
    if not missing:
        return []
    if _backends_running():
        warnings.warn(
            f"gan_jax.platform.configure_cpu() came after JAX started its backends, so XLA has "
            f"read XLA_FLAGS already: {' '.join(missing)} not applied; call it before the first "
            "JAX computation (in a notebook: restart the kernel, call it in the first cell)",
            RuntimeWarning,
            stacklevel=2,
        )
        return []
    os.environ["XLA_FLAGS"] = " ".join([flags, *missing]).strip()
    return missing
