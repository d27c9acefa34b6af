"""anime64_ralsgan: the RaLSGAN anime-face setup (Jolicoeur-Martineau 2018) with DCGAN-64 nets.

    python -m experiments.run --config=anime64_ralsgan --workdir=runs/anime64 \
        --config.data.source=npz:PATH/anime_faces.npz   # an npz of 64x64 faces (x: N,64,64,3)
    python -m experiments.run --config=anime64_ralsgan --workdir=runs/anime64 \
        --config.data.source=folder:path/to/anime_faces       # any folder of images

Relativistic average least-squares loss, Adam(2e-4, β1=0.5), batch 64. The default source is
`npz:anime_faces.npz` in the working directory (there is no download); pass yours.
"""

from gan_jax.config import apply_variant, base_config


def anime_config(image_size: int):
    """Shared by the 64×64 and 128×128 anime configs."""
    c = base_config()
    # No download exists: bring your own faces. Without --config.data.source the run stops with
    # "npz file 'anime_faces.npz' does not exist; pass --config.data.source=npz:PATH".
    c.data.source = "npz:anime_faces.npz"
    c.data.image_size = image_size
    c.data.channels = 3
    c.data.batch_size = 64
    c.model.name = "dcgan"
    c.model.latent_dim = 128
    c.loss = "ralsgan"
    c.train.num_steps = 20_000
    c.train.sample_every = 1000
    return c


def get_config(arg: str | None = None):
    return apply_variant(anime_config(64), arg)
