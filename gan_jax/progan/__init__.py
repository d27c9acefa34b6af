"""Progressive growing of GANs (Karras et al. 2018): the published generator's importer and
the pieces of progressive training (the task itself is `gan_jax.tasks.progan`).

`importer` (the PyTorch port's `.pth` and ocaml-torch's `.ot` weights → a run folder or a
module with its variables; `torchscript` reads `.ot` archives without torch), `schedule` (the
resolution schedule in images shown: level and fade-in α of every step), `step` (the WGAN-GP +
ε-drift train step of one level). The networks are `gan_jax.models.progan`.
"""
