"""Process, device and file-system plumbing every other layer may use.

`distributed` (multi-process setup, `is_primary`), `xla_cpu` (the XLA:CPU flags set on import),
`cache` (one cache root for XLA programs and feature networks), `files` (the one atomic writer
for JSON, PNG and GIF, and one-line messages for OS errors), `console` (progress bars for long
host-side work), `lock` (the workdir lock), `signals` (SIGTERM/SIGINT as a stop request the
training loop honours). Imports nothing from gan_jax but `errors`.
"""
