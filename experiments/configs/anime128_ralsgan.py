"""anime128_ralsgan: the RaLSGAN anime-face setup at 128×128 (DCGAN-128 nets, one more block).

    python -m experiments.run --config=anime128_ralsgan --workdir=runs/anime128 \
        --config.data.source=npz:PATH_TO_FACES.npz

Images smaller than 128×128 are upsampled (bicubic); use a source with ≥128 px faces for real runs.
"""

from experiments.configs.anime64_ralsgan import anime_config
from gan_jax.config import apply_variant


def get_config(arg: str | None = None):
    c = anime_config(128)
    c.data.batch_size = 32
    return apply_variant(c, arg)
