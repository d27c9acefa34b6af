"""Convert pytorch-fid's FID Inception weights to gan_jax's format (once; no torch needed).

    wget https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
    python -m experiments.convert_inception --src=pt_inception-2015-12-05-6726825d.pth

Prints the SHA-256 of the file it read and whether it starts with the published prefix
(6726825d), then where it wrote the converted weights (default: the gan_jax cache, where
`gan_jax.feature_nets.inception.load_fid_inception()` looks). The output is written atomically: a
failed conversion leaves nothing behind.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from experiments.cli import fail, run_app  # noqa: E402
from gan_jax.errors import UserError  # noqa: E402

_SRC = flags.DEFINE_string("src", None, "pytorch-fid's pt_inception-2015-12-05-6726825d.pth.")
_OUT = flags.DEFINE_string("out", "", "Output .npz (default: the gan_jax cache path).")
flags.mark_flags_as_required(["src"])


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}; use --src=PATH [--out=PATH]", 2)
    from gan_jax.feature_nets import inception
    from gan_jax.feature_nets.inception_convert import convert

    try:
        result = convert(_SRC.value, _OUT.value or None)
    except UserError as e:
        fail(str(e), 2)
    prefix = inception.EXPECTED_SHA256_PREFIX
    print(f"read   {result.source}")
    print(f"sha256 {result.sha256}")
    if result.matches_expected:
        print(f"checksum OK: starts with {prefix}, the published file's prefix")
    else:
        print(
            f"WARNING: the SHA-256 does not start with {prefix}: this is not the published "
            f"{os.path.basename(inception.WEIGHTS_URL)}; FID/IS computed with it are NOT "
            "comparable with published numbers"
        )
    print(f"wrote  {result.out} ({result.num_params:,} parameters)")


def run() -> None:
    run_app(main)


if __name__ == "__main__":
    run()
