"""Regenerates the torch fixtures of tests/test_inception.py. Needs torch + pytorch-fid (not a
gan_jax dependency); run from the repository root in a throwaway venv:

    python3 -m venv /tmp/venv/torch
    /tmp/venv/torch/bin/pip install torch==2.13.0 torchvision pytorch-fid
    /tmp/venv/torch/bin/python tests/data/make_inception_fixtures.py [--full=DIR]

Writes to tests/data/:
  torch_small_zip.pt, torch_small_legacy.pt: a small dict of tensors saved by real torch.save
    (zip and pre-1.6 formats), to check the torch-free reader;
  inception_torch_139.npz: pytorch-fid's FID InceptionV3 (torchvision's InceptionV3 with
    pytorch-fid's patched blocks, built exactly as `pytorch_fid.inception.fid_inception_v3`
    but with `structured_state_dict` weights instead of the download) applied to 2 images of
    139x139 (the smallest size where every pool, including Mixed_7c's, sees a border).
`--full=DIR` also writes DIR/random.pth (a full state dict, seed 1) and DIR/io.npz (299x299
inputs with torch's pool3 and logits) for the full-size comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from inception_fixtures import structured_images, structured_state_dict  # noqa: E402


def _import_torchvision_inception():
    """torchvision's inception module; falls back to importing it without torchvision's C
    extension (whose wheel may not match the installed torch) since the model is pure Python."""
    try:
        import torchvision  # noqa: F401
    except (RuntimeError, ImportError):
        base = os.path.join(os.path.dirname(torch.__file__), "..", "torchvision")
        for name, sub in (("torchvision", ""), ("torchvision.models", "models")):
            module = types.ModuleType(name)
            module.__path__ = [os.path.normpath(os.path.join(base, sub))]
            sys.modules[name] = module
        sys.modules["torchvision"].__version__ = "0.28.0"
        sys.modules["torchvision"].models = sys.modules["torchvision.models"]
    import torchvision.models.inception as tvi

    sys.modules["torchvision"].models.inception = tvi
    return tvi


def pytorch_fid_model() -> torch.nn.Module:
    """`pytorch_fid.inception.fid_inception_v3()` without its weight download."""
    tvi = _import_torchvision_inception()
    import pytorch_fid

    path = os.path.join(os.path.dirname(pytorch_fid.__file__), "inception.py")
    spec = importlib.util.spec_from_file_location("pytorch_fid_inception", path)
    pfi = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pfi)
    m = tvi.inception_v3(num_classes=1008, aux_logits=False, init_weights=False, weights=None)
    m.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
    m.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
    m.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
    m.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
    m.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
    m.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
    m.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
    m.Mixed_7b = pfi.FIDInceptionE_1(1280)
    m.Mixed_7c = pfi.FIDInceptionE_2(2048)
    return m.eval()


def run_model(model: torch.nn.Module, images_nhwc: np.ndarray) -> dict[str, np.ndarray]:
    """pool3 and logits as pytorch-fid computes them (no resize: inputs already in [-1, 1])."""
    x = torch.from_numpy(images_nhwc).permute(0, 3, 1, 2)
    with torch.no_grad():
        for name in [
            "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
            "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a",
            "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c",
        ]:  # fmt: skip
            x = getattr(model, name)(x)
        pool3 = torch.nn.functional.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
        logits = model.fc(pool3)
    return {"pool3": pool3.numpy(), "logits": logits.numpy()}


def load_structured(model: torch.nn.Module, seed: int) -> None:
    keys = [(k, v.shape) for k, v in model.state_dict().items() if "num_batches" not in k]
    sd = {k: torch.from_numpy(v) for k, v in structured_state_dict(keys, seed).items()}
    model.load_state_dict(sd, strict=True)


def small_tensors() -> dict[str, torch.Tensor]:
    base = torch.arange(10, dtype=torch.float32)
    return {
        "w": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4),
        "t": torch.arange(6, dtype=torch.float64).reshape(2, 3).t(),
        "v": base[3:7],
        "h": torch.arange(5, dtype=torch.float16) / 4,
        "n": torch.tensor(7, dtype=torch.int64),
        "b": torch.tensor([True, False]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", default="", help="also write a full-size comparison here")
    args = parser.parse_args()
    small = small_tensors()
    torch.save(small, os.path.join(HERE, "torch_small_zip.pt"))
    torch.save(
        small, os.path.join(HERE, "torch_small_legacy.pt"), _use_new_zipfile_serialization=False
    )
    model = pytorch_fid_model()
    load_structured(model, seed=0)
    out = run_model(model, structured_images(2, 139))
    np.savez(os.path.join(HERE, "inception_torch_139.npz"), **out)
    print("params", sum(p.numel() for p in model.parameters()), "torch", torch.__version__)
    if args.full:
        os.makedirs(args.full, exist_ok=True)
        load_structured(model, seed=1)
        torch.save(model.state_dict(), os.path.join(args.full, "random.pth"))
        images = np.concatenate([structured_images(2, 299), np.random.default_rng(0).uniform(
            -1, 1, (2, 299, 299, 3)).astype(np.float32)])  # fmt: skip
        np.savez(os.path.join(args.full, "io.npz"), images=images, **run_model(model, images))


if __name__ == "__main__":
    main()
