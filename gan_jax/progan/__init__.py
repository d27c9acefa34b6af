"""Progressive growing of GANs (Karras et al. 2018): the published generator's importer and
progressive training as a task of the one training loop.

`importer` (the PyTorch port's `.pth` and ocaml-torch's `.ot` weights → a run folder or a
module with its variables; `torchscript` reads `.ot` archives without torch), `schedule` (the
resolution schedule in images shown: level and fade-in α of every step), `step` (the WGAN-GP +
ε-drift train step of one level), `task` (`ProGANTask`, `train_progan`). The networks are
`gan_jax.models.progan`.
"""
