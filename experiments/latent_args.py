"""The command line of `python -m experiments.latent`: its verbs and their options (the verbs
themselves are in experiments/latent.py)."""

from __future__ import annotations

import argparse
from typing import NoReturn

from experiments.cli import fail


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, status 2, like experiments.run
        fail(f"{message} (see `python -m {self.prog} --help`)", 2)


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def build_parser(description: str) -> argparse.ArgumentParser:
    """The verbs and their options (`experiments.latent`'s command line)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workdir", required=True, help="GAN run, checkpoints/STEP or encoder run")
    common.add_argument("--encoder", help="an encoder run to attach to a GAN run")
    common.add_argument("--step", type=int, help="checkpoint step (default: the latest)")
    common.add_argument("--out", help="output folder (default: WORKDIR/latent)")
    common.add_argument("--seed", type=int, default=0, help="seed of the random z's")
    common.add_argument("--label", type=int, help="class for conditional generators")
    common.add_argument("--scale", type=int, default=0, help="pixel upscaling (0: to >= 64 px)")

    parser = _Parser(prog="experiments.latent", description=description)
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    def verb(name: str, description: str, num: int | None = None) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, parents=[common], help=description, description=description)
        if num is not None:
            sub.add_argument("--num", type=int, default=num, help="how many images or z's")
        sub.set_defaults(images=None, z=None)
        return sub

    def add_z(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--z",
            help="z's to use: a .npy/.npz/.txt file (one vector per row) or the numbers pasted",
        )
        add_images(sub)

    def add_images(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--images",
            help="npz:PATH, tfds:NAME[:SPLIT], folder:PATH, or a .npz, folder or image file "
            "(default: the run's training data)",
        )

    def add_seeds(sub: argparse.ArgumentParser, default: str) -> None:
        sub.add_argument("--seeds", type=_ints, default=_ints(default), help="seeds of the z's")

    def add_steps(sub: argparse.ArgumentParser, default: int) -> None:
        sub.add_argument("--steps", type=int, default=default, help="images per segment")

    def add_scales(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--scales", type=_floats, default=[-2.0, -1.0, 0.0, 1.0, 2.0], help="multiples k"
        )

    verb("sample", "a grid of samples", num=64)

    sub = verb("interpolate", "lerp and slerp between the z's of seeds, --z or --images", num=8)
    add_seeds(sub, "0,1")
    add_steps(sub, 8)
    add_z(sub)

    sub = verb("class-sweep", "one z moved from class to class", num=8)
    sub.add_argument("--classes", type=_ints, help="classes in order (default: all)")
    add_steps(sub, 8)
    add_z(sub)

    sub = verb("style-sweep", "z moved between the z's of seeds, a row per class", num=4)
    sub.add_argument("--classes", type=_ints, help="rows (default: all classes)")
    add_seeds(sub, "0,1,2,3")
    add_steps(sub, 6)
    add_z(sub)

    sub = verb("arithmetic", "a - b + c on the mean z's of tiles", num=64)
    for group in "abc":
        sub.add_argument(f"--{group}", type=_ints, required=True, help="tile indices, e.g. 3,17")
    sub.add_argument("--noise", type=float, default=0.25, help="jitter of the result row")
    add_images(sub)

    sub = verb("encode", "images -> z's and their reconstructions", num=16)
    add_images(sub)

    sub = verb("attributes", "attribute vectors of a labelled dataset", num=2000)
    sub.add_argument("--show", type=int, default=8, help="attributes in the preview")
    add_scales(sub)
    add_images(sub)

    sub = verb("edit", "z's moved along attribute vectors", num=8)
    sub.add_argument(
        "--edits", required=True, help="NAME:WEIGHT,... e.g. Black_Hair:1,Blond_Hair:-1"
    )
    sub.add_argument("--vectors", help="attributes.npz (default: OUT/attributes.npz)")
    add_scales(sub)
    add_images(sub)

    sub = verb("edit-table", "DIGITS' attribute-edit table: an image per row of edits", num=1)
    sub.add_argument(
        "--rows", required=True, help="rows of NAME:WEIGHT,... separated by ';' (blank: as is)"
    )
    sub.add_argument("--vectors", help="attributes.npz (default: OUT/attributes.npz)")
    add_z(sub)

    sub = verb("analogy", "the DIGITS analogy grid", num=64)
    sub.add_argument("--indices", type=_ints, help="source,sink1,sink2 of the encoded --images")
    sub.add_argument("--size", type=int, default=8, help="grid side")
    add_seeds(sub, "0,1,2")
    add_images(sub)

    sub = verb("embed", "z's of images for the TensorBoard projector", num=500)
    add_images(sub)
    return parser
