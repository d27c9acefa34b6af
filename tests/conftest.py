"""Test setup: two fake CPU devices (for pmap/sharded checks) and fast compiles.

Must run before jax initialises its backends, which is why it lives in conftest.
"""

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
).strip()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import jax  # noqa: E402

jax.config.update("jax_disable_most_optimizations", True)
jax.config.update("jax_platforms", "cpu")
