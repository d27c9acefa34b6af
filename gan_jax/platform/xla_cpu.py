"""XLA:CPU settings gan_jax applies when it is imported: Eigen convolutions, plain scheduler.

Measured on our 2-core AVX-512 machine with jaxlib 0.10.2 (interleaved runs, README "Speed on
CPU"):

* `--xla_cpu_experimental_ynn_fusion_type=-individual_convolution`: CPU convolutions by XLA's
  Eigen kernels instead of YNNPACK (jaxlib 0.10's default), 1.2-1.6x faster for the DCGAN
  layers (celeba64 train step ~700 -> ~600 ms) and 3.3x for the FID InceptionV3 (7.1 -> 23.8
  images/s). Matrix products stay with YNNPACK.
* `--xla_cpu_enable_concurrency_optimized_scheduler=false`: XLA's default instruction order
  instead of the one that runs independent ops side by side, which on 2 cores made them fight
  over the threads (celeba64 597-632 -> 575-585 ms, mnist_dcgan 134-139 -> 123-135 ms).

`import gan_jax` appends each flag to `XLA_FLAGS` unless the environment already names it (the
user's choice wins), and adds none when `GAN_JAX_XLA_DEFAULTS=1` is set (keep XLA's defaults),
the installed jaxlib is not one we checked (an unknown XLA flag aborts the process), or JAX's
backends are already running (the flags would do nothing). They change which kernel computes
each float32 op and in what order, not the math. Accelerators ignore XLA:CPU flags.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys

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


def configure() -> list[str]:
    """Append the FLAGS the conditions above allow to XLA_FLAGS; returns those appended."""
    flags = os.environ.get("XLA_FLAGS", "")
    if os.environ.get(OPT_OUT) == "1" or not _jaxlib_checked() or _backends_running():
        return []
    added = [f"--{name}={value}" for name, value in FLAGS.items() if name not in flags]
    if added:
        os.environ["XLA_FLAGS"] = " ".join([flags, *added]).strip()
    return added
