"""Latent-space tools for a trained generator (`gan_jax.load`): the library behind
`python -m experiments.latent VERB`.

    from gan_jax import latent
    from gan_jax import pictures
    g = gan_jax.load("runs/mnist_cgan")
    pictures.grid(latent.class_sweep(g, g.latents(1, seed=3)[0]))

Modules: `paths` (lerp, slerp, paths through key vectors), `sweeps` (interpolation, class and
style sweeps, arithmetic, analogy grids), `attributes` (attribute vectors, edits and DIGITS'
attribute-edit table), `inputs` (real images fitted to a generator, for the encoder, and pasted
or saved z's), `projector` (TensorBoard embeddings).
Picture functions return float images (rows, cols, H, W, C) in [-1, 1].
"""

from gan_jax.latent.attributes import (
    attribute_vectors,
    combine,
    edit,
    edit_table,
    parse_edits,
    parse_table,
)
from gan_jax.latent.inputs import Inputs, read_inputs, read_latents
from gan_jax.latent.paths import interpolate, lerp, slerp, through
from gan_jax.latent.projector import write_projector
from gan_jax.latent.sweeps import (
    analogy,
    analogy_latents,
    arithmetic,
    border_loop,
    class_path,
    class_sweep,
    interpolation,
    style_sweep,
)

__all__ = [
    "Inputs",
    "analogy",
    "analogy_latents",
    "arithmetic",
    "attribute_vectors",
    "border_loop",
    "class_path",
    "class_sweep",
    "combine",
    "edit",
    "edit_table",
    "interpolate",
    "interpolation",
    "lerp",
    "parse_edits",
    "parse_table",
    "read_inputs",
    "read_latents",
    "slerp",
    "style_sweep",
    "through",
    "write_projector",
]
