"""Encoders for trained generators (the DIGITS GAN walkthrough): E maps an image (and its label,
for conditional GANs) to the latent vector from which the frozen generator redraws it.

`config` (the `task='encoder'` config schema and its checks), `task` (`EncoderTask` for the one
training loop and `train_encoder`, which `python -m experiments.run` calls for encoder configs
such as `mnist_cgan_encoder`). The network E (the discriminator's body with a dense latent
head) is `gan_jax.models.encoder`; trained encoders are used through `gan_jax.load`.
"""
