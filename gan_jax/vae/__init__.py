"""VAE and VAE/GAN (the Torch faces post; Kingma & Welling 2014; Larsen et al. 2016).

`config` (the `task='vae'` schema: a GAN config plus `vae` and `e_optimizer`), `losses` (KL,
reparameterization, pixel and D-feature reconstruction), `step` (the pure train step) and
`compare` (a VAE run's encoder,
held-out reconstruction error, and the VAE vs VAE/GAN picture). The encoder network is
`gan_jax.models.vae`; the decoder is the config's generator, stored so that `gan_jax.load`
and `experiments.evaluate` read VAE runs like GAN runs. The task is `gan_jax.tasks.vae`.
"""
