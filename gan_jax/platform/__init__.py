"""Process, device and file-system plumbing every other layer may use.

`distributed` (multi-process setup, `is_primary`), `xla_cpu` (the XLA:CPU flags for speed on
CPU; `configure_cpu()` below applies them, `import gan_jax` does not), `cache` (one cache root
for XLA programs and feature networks), `files` (the one atomic writer for JSON, PNG and GIF,
and one-line messages for OS errors), `console` (progress bars for long host-side work), `lock`
(the workdir lock), `signals` (SIGTERM/SIGINT as a stop request the training loop honours).
Imports nothing from gan_jax but `errors`.

`configure_cpu()` appends gan_jax's XLA:CPU flags to `XLA_FLAGS` (faster convolutions and FID on
CPU) and returns them; call it before your first JAX computation (in a notebook, the first cell
after `import gan_jax`). The `experiments` commands call it first.
"""

from gan_jax.platform.xla_cpu import configure_cpu

__all__ = ["configure_cpu"]
