"""Reading VAE runs back: the decoder with its encoder (`load_vae`), the reconstruction error on
held-out images (`reconstruction_mse`), and the VAE vs VAE/GAN picture (`side_by_side`).

    from gan_jax.vae.compare import load_vae, side_by_side
    vae = load_vae("runs/mnist_vae")              # gan_jax.load's Generator, .encode = μ(x)
    recon = vae.sample(z=vae.encode(images))      # G(μ(x)), images uint8 or in [-1, 1]
    side_by_side(["runs/mnist_vae", "runs/mnist_vaegan"], images, "vae_vs_vaegan.png")
"""

from __future__ import annotations

import os
from typing import Any

import ml_collections
import numpy as np

from gan_jax import pictures
from gan_jax.config import VAE_TASK
from gan_jax.data import make_source
from gan_jax.data.preprocess import to_model_range
from gan_jax.errors import CheckpointError, InputError
from gan_jax.models.vae import build_vae_encoder
from gan_jax.runs.loading import Generator, load
from gan_jax.runs.restore import read_subtrees


def load_vae(workdir: str, step: int | None = None) -> Generator:
    """The decoder of a VAE run (`gan_jax.load`) with the encoder's mean μ(x) as `.encode`."""
    gen = load(workdir, step)
    if gen.config.get("task") != VAE_TASK:
        raise CheckpointError(f"{workdir} is not a VAE run (its config.task is not {VAE_TASK!r})")
    saved = read_subtrees(gen.workdir, gen.step, lambda _: ["e_params", "e_batch_stats"])
    variables = {"params": saved["e_params"]}
    if saved["e_batch_stats"]:
        variables["batch_stats"] = saved["e_batch_stats"]
    encoder = build_vae_encoder(
        gen.config.model, gen.data_shape, gen.config.get("stabilizers"), mean_only=True
    )
    gen.attach_encoder(encoder, variables)
    return gen


def heldout_images(data: ml_collections.ConfigDict, source: str, num: int) -> np.ndarray:
    """The first `num` images of data source `source` (e.g. `tfds:mnist:test`) prepared with the
    run's `data` settings (size, crop, channels), as float32 in [-1, 1]."""
    settings = ml_collections.ConfigDict(data.to_dict())
    settings.source = source
    settings.attributes = ""
    images = make_source(settings)
    return to_model_range(images.read(np.arange(min(num, len(images))))["x"])


def reconstruction_mse(gen: Generator, images: np.ndarray) -> float:
    """Mean over pixels of (G(μ(x)) − x)² for images in [-1, 1] (the scale of `pixel_mse`)."""
    recon = gen.sample(z=gen.encode(images))
    return float(np.mean((recon - images) ** 2))


def side_by_side(
    workdirs: list[str], images: np.ndarray, out: str, num: int = 8, seed: int = 0
) -> dict[str, float]:
    """One PNG with a panel per run: `num` inputs, their reconstructions, then 2·`num` random
    samples from the same z for every run. Returns each run's reconstruction MSE on `images`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(images) < num:
        raise InputError(f"need at least {num} images to show, got {len(images)}")
    gens = [load_vae(w) for w in workdirs]
    if len({g.data_shape for g in gens}) > 1 or len({g.latent_dim for g in gens}) > 1:
        raise InputError("the runs make images of different shapes or have different latents")
    z = gens[0].latents(2 * num, seed)
    scores: dict[str, float] = {}
    fig, axes = plt.subplots(1, len(gens), figsize=(3.2 * len(gens), 3.6), squeeze=False)
    for ax, gen, workdir in zip(axes[0], gens, workdirs, strict=True):
        shown = images[:num]
        rows: list[Any] = [shown, gen.sample(z=gen.encode(shown)), gen.sample(z=z)]
        grid = pictures.image_grid(np.concatenate(rows), ncols=num)
        name = os.path.basename(os.path.normpath(workdir))
        kind = "VAE/GAN" if gen.config.vae.gan else "VAE"
        scores[name] = reconstruction_mse(gen, images)
        ax.imshow(grid, interpolation="nearest")
        ax.set_title(
            f"{kind} ({name}, step {gen.step})\nrecon MSE {scores[name]:.4f} "
            f"on {len(images)} images",
            fontsize=8,
        )
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].set_ylabel("inputs | reconstructions | samples", fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return scores
