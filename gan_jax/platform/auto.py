"""What `auto` means for the model fields whose best choice depends on the platform.

`model.upsample` and `model.conv_grads` (DCGAN) each pick between a CPU speed trick and XLA's
own op; both choices compute the same function with the same parameters. `resolve(field,
value)` turns `'auto'` into the choice for the platform JAX runs on and leaves explicit choices
as they are.
"""

from __future__ import annotations

AUTO = "auto"

# field -> (the choice on XLA:CPU, the choice on GPU/TPU)
CHOICES = {
    "upsample": ("subpixel", "transpose"),
    "conv_grads": ("adjoint", "autodiff"),
}


def platform() -> str:
    """The platform of JAX's default backend: 'cpu', 'gpu' or 'tpu'."""
    import jax

    return jax.default_backend()


def resolve(field: str, value: str, on: str | None = None) -> str:
    """`value` itself, or for `'auto'` the choice of `field` on platform `on` (default: JAX's)."""
    if value != AUTO:
        return value
    cpu_choice, accelerator_choice = CHOICES[field]
    return cpu_choice if (on or platform()) == "cpu" else accelerator_choice
