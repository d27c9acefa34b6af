"""Encoders for trained generators (the DIGITS GAN walkthrough): E maps an image (and its label,
for conditional GANs) to the latent vector from which the frozen generator redraws it.

`model` (E: the discriminator's body with a dense latent head), `config` (the `task='encoder'`
config schema), `train` (`train_encoder`, which `python -m experiments.run` calls for encoder
configs such as `mnist_cgan_encoder`). Trained encoders are used through `gan_jax.load`.
"""
