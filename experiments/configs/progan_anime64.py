"""progan_anime64: progressive growing of GANs (Karras et al. 2018) on 64×64 anime faces,
4 → 8 → 16 → 32 → 64 px, with the paper's networks, losses and schedule (see docs/progan.md).

    python -m experiments.run --config=progan_anime64 --workdir=runs/progan64 \
        --config.data.source=npz:PATH/anime_faces.npz      # an npz of faces (x: N,64,64,3)
    python -m experiments.run --config=progan_anime64:small --workdir=runs/progan64s \
        --config.data.source=folder:path/to/anime_faces    # CPU-sized: narrow nets, 4k-image phases

G: pixel norm, equalized-LR 3×3 convs, nearest 2× upsampling, 512 → 64 channels (fmap_base 8192,
fmap_max 512), 512-d z; D mirrors it with a minibatch-stddev feature at 4×4. WGAN-GP (λ = 10)
+ ε-drift 0.001, Adam(1e-3, β1 = 0, β2 = 0.99), batch 16, G EMA 0.999, 600k images per fade-in
and per stable phase (9 phases: 337,500 steps). Variants: `tiny` (4 → 8 px, seconds on a CPU),
`small` (fmap_max 64, fmap_base 512, 32-d z, 4,096 images per phase, G EMA 0.99: 4 → 64 px on
a CPU).
The source has no default: pass `--config.data.source=npz:...` or `folder:...`.
"""

from gan_jax.config import apply_variant
from gan_jax.progan.config import progan_config, tiny


def small(c):
    c.model.latent_dim = 32
    c.model.g_width = c.model.d_width = 64
    c.model.fmap_base = 512
    c.progan.phase_images = 4096
    c.progan.ema_decay = 0.99  # 0.999 would keep a third of the initial weights after 1,000 steps
    c.train.log_every = 64
    return c


def get_config(arg: str | None = None):
    c = progan_config(64)
    c.data.source = ""
    return apply_variant(c, arg, {"tiny": tiny, "small": small})
