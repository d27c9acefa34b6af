"""The pure core of GAN training: everything inside the jitted step, and nothing that does I/O.

`state` (GANState: both networks, optimizer states, stabilizer state), `step` (GANSpec and the
train step `(state, batch, rng) -> (state, metrics)`, composed from the named D-update /
G-update / EMA / skip / divergence pieces in `updates`; `device_axis` holds what differs under
pmap), `stabilizers` and `regularizers` (update skipping, adaptive L2, EMA, R1/GP), `optim`
(optax optimizers and schedules from a config block), `sampling` (jitted inference forward,
fixed noise, chunked batching). Imports: `errors`, `config`, `losses` only.
"""
