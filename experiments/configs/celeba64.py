"""celeba64: DCGAN-64 (Radford et al. 2016) on CelebA, aligned faces center-cropped to 108×108
and resized to 64×64 (the DCGAN CelebA practice); batch 64, Adam(2e-4, β1=0.5), BCE loss.

    python -m experiments.run --config=celeba64 --workdir=runs/c64
    python -m experiments.run --config=celeba64 --workdir=runs/c64_ra --config.loss=ralsgan

Needs the prepared TFDS `celeb_a` dataset (the run tells you how to get it if it is missing), or
the unpacked CelebA files with their 40 attributes:

    python -m experiments.run --config=celeba64 --workdir=runs/c64 \
        --config.data.source=folder:celeba/img_align_celeba \
        --config.data.attributes=celeba/list_attr_celeba.txt

Periodic FID/KID/IS/precision-recall on Inception features, keeping the best-FID checkpoint,
once the FID weights are converted (README "Feature networks"):

    python -m experiments.run --config=celeba64 --workdir=runs/c64 \
        --config.evals.every=5000 --config.evals.best_metric=fid
"""

from gan_jax.config import apply_variant, base_config


def get_config(arg: str | None = None):
    c = base_config()
    c.data.source = "tfds:celeb_a"
    c.data.image_size = 64
    c.data.crop = 108
    c.data.channels = 3
    c.data.batch_size = 64
    c.model.name = "dcgan"
    c.model.latent_dim = 100
    c.train.num_steps = 50_000
    c.train.sample_every = 2000
    c.train.checkpoint_every = 2000
    return apply_variant(c, arg)
