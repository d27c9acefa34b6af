"""Evaluation metrics for generated samples.

Feature-space metrics work on host numpy arrays of features or class scores (the feature
networks live elsewhere); each module holds one family:

* ``frechet``: FID (Fréchet distance of Gaussian fits), float64.
* ``kid``: Kernel Inception Distance (unbiased MMD², cubic kernel, subsets), JAX.
* ``inception_score``: Inception Score over splits.
* ``prdc``: improved precision/recall and density/coverage (k-NN manifolds), JAX in blocks.
* ``histogram``: chi-square distance of pixel-value histograms (the DIGITS monitor).
* ``classes``: conditional accuracy and predicted-label histogram, entropy, KL to uniform.
* ``mixtures``: mode coverage on the 2-D Gaussian mixtures (VEEGAN/PacGAN protocol).

The feature networks (InceptionV3, the domain classifiers) and their shared batched extraction
loop live in ``gan_jax.feature_nets``; they produce the arrays these functions take. Pure
functions only: this package imports nothing but ``errors`` and ``data`` (the mixtures).
"""
