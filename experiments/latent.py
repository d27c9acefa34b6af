"""Latent-space tools for a trained generator: pictures and vectors written into the run folder.

    python -m experiments.latent VERB --workdir=W [options]      (--help on any verb)

`--workdir` is a GAN run (`experiments.run`), one of its `checkpoints/STEP` folders, or an
encoder run (its generator with `.encode`); `--encoder=E` attaches an encoder run to a GAN run.
Outputs go to `W/latent/` (`--out` to change). Verbs:

  sample       grid of samples (2-D runs: a scatter plot); index i = i-th tile, row-major
  interpolate  lerp and slerp between the z's of --seeds: grid (one row per method) + GIF
  class-sweep  one z, its label slerped from class to class: a column per transition + GIF
  style-sweep  z slerped through the z's of --seeds, one row per class + GIF
  arithmetic   a - b + c on the mean z's of tiles of the sample grid (or of encoded images)
  encode       images -> z's (encode.npz) and reconstructions beside the inputs (encode.png)
  attributes   per-attribute vectors (mean z with - without) of a labelled dataset
  edit         z's moved along a combination of attribute vectors (Black_Hair:1,Blond_Hair:-1)
  edit-table   DIGITS' attribute-edit table: one image per row of edits ('A:1,B:-1;;C:-1')
  analogy      DIGITS' analogy grid from source, sink1, sink2 (PNG + GIF)
  embed        z's of the first N images for the TensorBoard projector (tensorboard --logdir)

interpolate, class-sweep, style-sweep and edit-table take their z's from `--z` (a .npy, .npz or
.txt file, or the numbers pasted: `--z="0.1,-0.3,..."`) or from `--images` encoded through the
run's encoder, as DIGITS does; else from seeds. Each verb is a few lines over `gan_jax.latent`,
which notebooks use directly. Mistakes print one `error:` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import io
import os
import sys

import numpy as np

from experiments.cli import apply_cpu_flags, fail
from experiments.latent_args import build_parser
from gan_jax import latent, pictures
from gan_jax.errors import InputError, UserError
from gan_jax.latent import attributes as attributes_lib
from gan_jax.platform.files import write_bytes_atomic
from gan_jax.runs.loading import Generator
from gan_jax.runs.restore import resolve_run

# --- writing ---------------------------------------------------------------------------------


def _scale(gen: Generator, args: argparse.Namespace) -> int:
    return args.scale or max(1, 64 // gen.data_shape[0])


def _png(path: str, images: np.ndarray, scale: int) -> str:
    """Write (rows, cols, H, W, C) images as one PNG grid."""
    pictures.save_png(np.asarray(pictures.grid(images, scale=scale)), path)
    return path


def _gif(path: str, frames: list[np.ndarray], scale: int) -> str:
    """Write each frame (a row of images (n, H, W, C)) as one GIF frame."""
    pictures.gif([np.asarray(pictures.grid(f[None], scale=scale)) for f in frames], path, fps=8)
    return path


# --- latent vectors from seeds or from encoded images ----------------------------------------


def _pool(gen: Generator, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None]:
    """(z, labels) of the tiles of `sample --seed --num` or, with --images, of encoded images."""
    if args.images:
        _, labels, z = _encoded(gen, args)
        return z, labels
    return gen.latents(args.num, args.seed), gen.labels(args.label, args.num)


def _pick(pool: np.ndarray, indices: list[int], what: str) -> np.ndarray:
    if not indices or min(indices) < 0 or max(indices) >= len(pool):
        raise InputError(f"--{what}={indices} must be indices in 0..{len(pool) - 1} (of --num)")
    return pool[indices]


def _given(gen: Generator, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(z, labels) from --z or from the encoded --images; None when neither is given."""
    if args.z:
        return latent.read_latents(args.z, gen.latent_dim), None
    if args.images:
        _, labels, z = _encoded(gen, args)
        return z, labels
    return None


def _keys(gen: Generator, args: argparse.Namespace) -> tuple[np.ndarray, int | None]:
    """Key z's of a path (--z, encoded --images, else --seeds) and the label to draw it with
    (--label, else the first encoded image's)."""
    given = _given(gen, args)
    if given is None:
        return _seed_latents(gen, args.seeds), args.label
    z, labels = given
    if len(z) < 2:
        raise InputError(f"a path needs at least two z's; got {len(z)}")
    label = args.label if args.label is not None or labels is None else int(labels[0])
    return z, label


def _seed_latents(gen: Generator, seeds: list[int], count: int | None = None) -> np.ndarray:
    if (count is not None and len(seeds) != count) or len(seeds) < 2:
        want = f"exactly {count}" if count else "at least two"
        raise InputError(f"--seeds={seeds}: give {want} seeds")
    return np.stack([gen.latents(1, seed=s)[0] for s in seeds])


def _encoded(
    gen: Generator, args: argparse.Namespace
) -> tuple[latent.Inputs, np.ndarray | None, np.ndarray]:
    """(inputs, their labels for the model, their z's) for --images (default: the run's data)."""
    if not gen.has_encoder:
        raise InputError(
            f"{args.verb}{' --images' if args.images else ''} needs an encoder: pass an encoder "
            "run as --workdir, or --encoder=ENCODER_RUN (train one with `python -m "
            "experiments.run --config=mnist_cgan_encoder --config.generator_workdir=W ...`)"
        )
    inputs = latent.read_inputs(gen, args.images, limit=args.num)
    labels = inputs.model_labels(gen, args.label)
    return inputs, labels, gen.encode(inputs.images, labels)


# --- verbs -----------------------------------------------------------------------------------


def sample(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    path = os.path.join(out, "sample.png")
    if not gen.makes_images:
        points = gen.sample(args.num, args.seed)
        pictures.save_png(pictures.scatter_plot(None, points, title=f"{args.num} samples"), path)
        return [path]
    images = gen.sample(args.num, args.seed, labels=args.label)
    ncols = gen.num_classes if gen.num_classes and args.label is None else None
    picture = pictures.grid(images, ncols=ncols, scale=_scale(gen, args))
    pictures.save_png(np.asarray(picture), path)
    return [path]


def interpolate(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    keys, label = _keys(gen, args)
    rows = latent.interpolation(gen, keys, args.steps, label=label)
    s = _scale(gen, args)
    frames = [rows[:, t] for t in range(rows.shape[1])]  # lerp beside slerp
    return [
        _png(os.path.join(out, "interpolate.png"), rows, s),
        _gif(os.path.join(out, "interpolate.gif"), frames, s),
    ]


def class_sweep(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    given = _given(gen, args)
    zs = gen.latents(args.num, args.seed) if given is None else given[0]
    sweeps = np.stack([latent.class_sweep(gen, z, args.classes, args.steps) for z in zs])
    steps, transitions = sweeps.shape[1:3]
    frames = [sweeps[:, i, j] for j in range(transitions) for i in range(steps - 1)]
    s = _scale(gen, args)
    return [
        _png(os.path.join(out, "class_sweep.png"), sweeps[0], s),
        _gif(os.path.join(out, "class_sweep.gif"), frames, s),
    ]


def style_sweep(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    keys, _ = _keys(gen, args)
    rows = latent.style_sweep(gen, keys, args.steps, args.classes)
    s = _scale(gen, args)
    return [
        _png(os.path.join(out, "style_sweep.png"), rows, s),
        _gif(os.path.join(out, "style_sweep.gif"), list(rows.swapaxes(0, 1)), s),
    ]


def arithmetic(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    z, labels = _pool(gen, args)
    picks = [args.a, args.b, args.c]
    groups = [_pick(z, idx, name) for idx, name in zip(picks, "abc", strict=True)]
    group_labels = None if labels is None else [labels[idx] for idx in picks]
    _, rows = latent.arithmetic(gen, groups, group_labels, noise=args.noise, seed=args.seed)
    return [_png(os.path.join(out, "arithmetic.png"), rows, _scale(gen, args))]


def encode(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    inputs, labels, z = _encoded(gen, args)
    recon = gen.sample(z=z, labels=labels)
    mse = np.mean((recon - inputs.images) ** 2, axis=tuple(range(1, recon.ndim)))
    path = os.path.join(out, "encode.npz")
    arrays = {"z": z, "mse": mse, **({"labels": labels} if labels is not None else {})}
    _write_npz(path, arrays)
    print(f"encoded {len(z)} images; mean pixel MSE of the reconstructions {mse.mean():.4f}")
    rows = pictures.reconstruction_rows(inputs.images, recon)
    return [path, _png(os.path.join(out, "encode.png"), rows, _scale(gen, args))]


def _write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes_atomic(buffer.getvalue(), path)


def attributes(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    inputs, labels, z = _encoded(gen, args)
    if inputs.attributes is None:
        raise InputError(
            f"{args.images or gen.config.data.source} has no attribute matrix; use an npz with "
            "an 'attributes' (N, A) array (and 'attribute_names'), or tfds:celeb_a"
        )
    vectors, counts = latent.attribute_vectors(z, inputs.attributes)
    names = list(inputs.attribute_names) or [f"attr{i}" for i in range(vectors.shape[0])]
    path = os.path.join(out, "attributes.npz")
    attributes_lib.save(path, vectors, names, counts)
    for name, (n_with, n_without), v in zip(names, counts, vectors, strict=True):
        print(f"{name:24s} with {n_with:6d} without {n_without:6d} |v| {np.linalg.norm(v):.3f}")
    shown = [i for i in range(len(names)) if np.all(np.isfinite(vectors[i]))][: args.show]
    y = None if labels is None else labels[:1]
    rows = np.concatenate([latent.edit(gen, z[:1], vectors[i], args.scales, y) for i in shown])
    return [path, _png(os.path.join(out, "attributes.png"), rows, _scale(gen, args))]


def edit(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    vectors, names, _ = attributes_lib.load(args.vectors or os.path.join(out, "attributes.npz"))
    direction = latent.combine(vectors, names, latent.parse_edits(args.edits))
    if args.images:
        inputs, labels, z = _encoded(gen, args)
        rows = latent.edit(gen, z, direction, args.scales, labels)
        rows = np.concatenate([inputs.images[:, None], rows], axis=1)  # the input, then edits
    else:
        z, labels = gen.latents(args.num, args.seed), gen.labels(args.label, args.num)
        rows = latent.edit(gen, z, direction, args.scales, labels)
    return [_png(os.path.join(out, "edit.png"), rows, _scale(gen, args))]


def edit_table(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    vectors, names, _ = attributes_lib.load(args.vectors or os.path.join(out, "attributes.npz"))
    rows = latent.parse_table(args.rows)
    given = _given(gen, args)
    if given is None:
        z, labels = gen.latents(1, args.seed), gen.labels(args.label, 1)
    else:
        z, labels = given
        if labels is None and gen.num_classes:
            labels = gen.labels(args.label or 0, len(z))
    images = latent.edit_table(gen, z, vectors, names, rows, labels)
    for i, row in enumerate(rows):
        text = ", ".join(f"{k} {v:+g}" for k, v in row.items()) or "(the z as given)"
        print(f"row {i}: {text}")
    return [_png(os.path.join(out, "edit_table.png"), images, _scale(gen, args))]


def analogy(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    label = args.label
    if args.images:
        z, labels = _pool(gen, args)
        ends = _pick(z, args.indices, "indices")
        if len(ends) != 3:
            raise InputError(f"--indices={args.indices}: give source,sink1,sink2")
        if labels is not None and label is None:
            label = int(labels[args.indices[0]])
    else:
        ends = _seed_latents(gen, args.seeds, 3)
    grid = latent.analogy(gen, *ends, size=args.size, label=label)
    s = _scale(gen, args)
    frames = [f[None] for f in latent.border_loop(grid)]
    return [
        _png(os.path.join(out, "analogy.png"), grid, s),
        _gif(os.path.join(out, "analogy.gif"), frames, s),
    ]


def embed(gen: Generator, args: argparse.Namespace, out: str) -> list[str]:
    inputs, _, z = _encoded(gen, args)
    metadata: dict[str, list] = {"index": list(range(len(z)))}
    if inputs.labels is not None:
        metadata["label"] = [int(v) for v in inputs.labels]
    for i, name in enumerate(inputs.attribute_names):
        metadata[name] = [int(v) for v in inputs.attributes[:, i]]
    logdir = os.path.join(out, "embed")
    written = latent.write_projector(logdir, z, inputs.images, metadata)
    print(f"view with: tensorboard --logdir {logdir}")
    return written


VERBS = {
    "sample": sample,
    "interpolate": interpolate,
    "class-sweep": class_sweep,
    "style-sweep": style_sweep,
    "arithmetic": arithmetic,
    "encode": encode,
    "attributes": attributes,
    "edit": edit,
    "edit-table": edit_table,
    "analogy": analogy,
    "embed": embed,
}


def main(argv: list[str] | None = None) -> list[str]:
    """Run one verb; return the paths it wrote (also printed, one per line)."""
    apply_cpu_flags()  # before the generator's first computation
    args = build_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    try:
        import gan_jax

        gen = gan_jax.load(args.workdir, step=args.step, encoder=args.encoder)
        out = args.out or os.path.join(resolve_run(args.workdir)[0], "latent")
        written = VERBS[args.verb](gen, args, out)
    except UserError as e:
        fail(str(e), 2)
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main(sys.argv[1:])
