"""Process, device and file-system plumbing every other layer may use.

`distributed` (multi-process setup, `is_primary`), `xla_cpu` (the XLA:CPU flags set on import),
`cache` (one cache root for XLA programs and feature networks), `files` (the one atomic writer
for JSON, PNG and GIF), `console` (progress bars for long host-side work). Imports nothing from
gan_jax but `errors`.
"""
