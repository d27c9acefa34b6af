"""faces_gan: the Torch "Generating Faces with Torch" post's DCGAN (skaae/torch-gan), on Labeled
Faces in the Wild.

    # LFW, deep-funneled: http://vis-www.cs.umass.edu/lfw/lfw-deepfunneled.tgz, untarred here
    python -m experiments.run --config=faces_gan --workdir=runs/faces_gan
    python -m experiments.run --config=faces_gan --workdir=runs/faces_gan \
        --config.data.source=folder:PATH/lfw-deepfunneled     # any folder in LFW layout

Networks (`model.name='faces'`, layers listed in gan_jax/models/faces.py): D = 5×5 convs
32/64/96 + 2×2 max-pool + ReLU + spatial dropout 0.2, linear 1024 + dropout 0.5; G = linear
z → 128×8×8, then nearest 2× upsample + 5×5 conv 256/256/128 + BatchNorm + ReLU, 3×3 conv → 3
(linear output). As the post's code: z of 512 from N(0, 1), images cropped to the central
150×150 of LFW's 250×250 and resized to 64×64, in [-1, 1]; bce; RMSprop (lr 1e-3, α 0.9) for
both; 64 real + 64 fake images per step; the margin rule with m = 0.3 (skip D when either of
its errors is below m, G when either is above 1 − m, both updated if both would be skipped).
Not reproduced: the post's per-epoch 0.99 learning-rate decay and momentum ramp, and its
lr/50 and lr/5 warm-up of the first 10 and 30 updates. The person subfolders are not classes
(`data.labels='none'`).
"""

from gan_jax.config import apply_variant, base_config
from gan_jax.config import tiny as base_tiny


def faces_data(c):
    """LFW as the post's dataset script prepares it (shared by the faces configs)."""
    c.data.source = "folder:lfw-deepfunneled"
    c.data.crop = 150
    c.data.image_size = 64
    c.data.channels = 3
    c.data.labels = "none"
    c.data.batch_size = 64
    c.model.name = "faces"
    c.model.latent_dim = 512
    c.model.g_width = 64
    c.model.d_width = 32
    c.stabilizers.d_batchnorm = False
    c.stabilizers.d_dropout = 0.2
    return c


def tiny(c):
    """`:tiny` at 32×32 (the faces nets take any size divisible by 8)."""
    base_tiny(c)
    c.data.image_size = 32
    c.data.crop = 0
    return c


def get_config(arg: str | None = None):
    c = faces_data(base_config())
    c.loss = "bce"
    for opt in (c.g_optimizer, c.d_optimizer):
        opt.name, opt.lr, opt.decay, opt.eps = "rmsprop", 1e-3, 0.9, 1e-8
    c.stabilizers.skip_margin = 0.3
    c.stabilizers.skip_rule = "either"
    c.train.num_steps = 20_000  # ~100 epochs of LFW's 13,233 images
    c.train.sample_every = 1000
    return apply_variant(c, arg, {"tiny": tiny})
