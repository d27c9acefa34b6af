"""Encoders for trained generators (the DIGITS GAN walkthrough): E maps an image (and its label,
for conditional GANs) to the latent vector from which the frozen generator redraws it.

`config` (the `task='encoder'` config schema and its checks) and `step` (E's pure train step);
the task, which `python -m experiments.run` trains for encoder configs such as
`mnist_cgan_encoder`, is `gan_jax.tasks.encoder`. The network E (the discriminator's body with
a dense latent head) is `gan_jax.models.encoder`; trained encoders are used through `gan_jax.load`.
"""
