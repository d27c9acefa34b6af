"""Imports published progressive-GAN generator weights into `gan_jax.models.progan`.

Two files hold the published CelebA-HQ generator (Karras et al. 2018, 1024×1024, 512-d z):

* the PyTorch port's state dict (ptrblck/prog_gans_pytorch_inference, `*.pth`, read without
  torch by `gan_jax.feature_nets.torch_pickle`): `in_layer.1.weight`, `in_layer.2.scale|b`,
  `upsampling_layers.N.conv.weight`, `upsampling_layers.N.wscale.scale|b`, `out_layer.1.weight`,
  `out_layer.2.scale|b`;
* ocaml-torch's `prog-gan.ot` (`gan_jax.progan.torchscript`): `features.N.conv.weight`,
  `features.N.wscale.scale|b`, `output.conv.weight`, `output.wscale.scale|b`.

Both name the same blocks: `in_layer` = `features.0`, `upsampling_layers.N` = `features.N+1`,
`out_layer` = `output`, which is `features_N` / `to_rgb_{last level}` here. Convolution kernels
go from torch's (out, in, kh, kw) to (kh, kw, in, out); both libraries compute
cross-correlations, so nothing is flipped. The number of levels, the channels of each, z's size
and the output channels come from the tensors' shapes, so smaller (or truncated) networks of
the same design import too.

`write_run(src, workdir)` makes a run folder (config.json, model.json, checkpoints/0 with
`g_params`) in the framework's format, which `gan_jax.load(workdir)` samples once
`'progan'` is a registered `models.build` name; `load_generator(src)` gives the module and
variables directly.
"""

from __future__ import annotations

import os
import re
import zipfile
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax.config import base_config
from gan_jax.errors import InputError
from gan_jax.feature_nets.torch_pickle import load_state_dict
from gan_jax.models import progan
from gan_jax.progan import torchscript
from gan_jax.runs.checkpoint import Checkpointer
from gan_jax.runs.restore import checkpoint_steps
from gan_jax.runs.run_files import save_run_files

_PREFIXES = (  # the PyTorch port's block names → ocaml-torch's
    (re.compile(r"^in_layer\.1\."), lambda m: "features.0.conv."),
    (re.compile(r"^in_layer\.2\."), lambda m: "features.0.wscale."),
    (re.compile(r"^upsampling_layers\.(\d+)\."), lambda m: f"features.{int(m.group(1)) + 1}."),
    (re.compile(r"^out_layer\.1\."), lambda m: "output.conv."),
    (re.compile(r"^out_layer\.2\."), lambda m: "output.wscale."),
)
_OCAML = re.compile(r"^(features\.(\d+)|output)\.(conv\.weight|wscale\.scale|wscale\.b)$")


def read_weights(path: str) -> dict[str, np.ndarray]:
    """The generator's tensors under ocaml-torch's names, from a `.pth` or an `.ot` file."""
    is_script = False
    if os.path.isfile(path) and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            is_script = any(n.endswith(("/constants.pkl", "/model.json")) for n in names)
    raw = torchscript.load_named_tensors(path) if is_script else load_state_dict(path)
    out = {}
    for key, value in raw.items():
        for pattern, repl in _PREFIXES:
            key = pattern.sub(repl, key)
        out[key] = value
    return out


def _shape(tensors: dict[str, np.ndarray], key: str, path: str) -> tuple[int, ...]:
    if key not in tensors:
        raise InputError(f"{path!r} has no tensor {key!r}; it is not a ProGAN generator")
    return tuple(tensors[key].shape)


def generator_params(tensors: dict[str, np.ndarray], path: str = "the file") -> dict[str, Any]:
    """ocaml-torch-named tensors → the `ProGenerator` params tree (checked against its design)."""
    unknown = sorted(k for k in tensors if not _OCAML.match(k))
    if unknown:
        raise InputError(
            f"{path!r} has tensors a ProGAN generator does not ({', '.join(unknown[:3])}); "
            "pass the generator's state dict"
        )
    blocks = {int(m.group(2)) for k in tensors if (m := _OCAML.match(k)) and m.group(2)}
    if not blocks or blocks != set(range(len(blocks))) or len(blocks) % 2:
        raise InputError(
            f"{path!r} has generator blocks {sorted(blocks)}; expected features.0..features.2L-1"
        )
    levels = len(blocks) // 2
    params: dict[str, Any] = {}
    names = [f"features.{i}" for i in range(len(blocks))] + ["output"]
    for i, name in enumerate(names):
        out_ch = _shape(tensors, f"{name}.conv.weight", path)[0]
        kernel = tensors[f"{name}.conv.weight"]
        if _shape(tensors, f"{name}.wscale.b", path) != (out_ch,) or _shape(
            tensors, f"{name}.wscale.scale", path
        ) != (1,):
            raise InputError(
                f"{path!r}: {name}.wscale does not match {name}.conv's {out_ch} outputs"
            )
        target = f"features_{i}" if name != "output" else f"to_rgb_{levels - 1}"
        params[target] = {
            "conv": {"kernel": np.ascontiguousarray(kernel.transpose(2, 3, 1, 0), np.float32)},
            "wscale": {
                "scale": tensors[f"{name}.wscale.scale"].astype(np.float32),
                "b": tensors[f"{name}.wscale.b"].astype(np.float32),
            },
        }
    return params


def infer_model(
    params: dict[str, Any], path: str = "the file"
) -> tuple[ml_collections.ConfigDict, int, int]:
    """(the `model` config block, image size, channels) that rebuild `params` exactly, checked
    by building the network and comparing every kernel shape."""
    levels = (len(params) - 1) // 2
    nf = [params[f"features_{2 * lvl + 1}"]["conv"]["kernel"].shape[-1] for lvl in range(levels)]
    latent_dim = params["features_0"]["conv"]["kernel"].shape[2]
    channels = params[f"to_rgb_{levels - 1}"]["conv"]["kernel"].shape[-1]
    model = base_config().model
    model.name = "progan"
    model.latent_dim = int(latent_dim)
    model.g_width = model.d_width = int(nf[0])
    model.fmap_base = int(nf[-1] * 2**levels)
    resolution = progan.MIN_RESOLUTION * 2 ** (levels - 1)
    gen, _ = progan.build(model, (resolution, resolution, channels))
    expected = _kernel_shapes(gen, latent_dim, levels)
    got = {k: v["conv"]["kernel"].shape for k, v in params.items()}
    if expected != got:
        bad = sorted(k for k in got if expected.get(k) != got[k])
        raise InputError(
            f"{path!r}: the shapes of {', '.join(bad[:3])} do not follow ProGAN's channel rule "
            f"min(fmap_base / 2^(level+1), fmap_max) for channels {nf}"
        )
    return model, resolution, channels


def _kernel_shapes(gen: progan.ProGenerator, latent_dim: int, levels: int) -> dict[str, tuple]:
    z = jax.ShapeDtypeStruct((1, latent_dim), jnp.float32)
    shapes = jax.eval_shape(lambda x: gen.init(jax.random.PRNGKey(0), x), z)["params"]
    keep = {f"features_{i}" for i in range(2 * levels)} | {f"to_rgb_{levels - 1}"}
    return {k: tuple(v["conv"]["kernel"].shape) for k, v in shapes.items() if k in keep}


def load_generator(path: str) -> tuple[progan.ProGenerator, dict[str, Any]]:
    """(module, {'params': ...}) of the generator in `path`; `module.apply(variables, z,
    train=False)` gives (N, R, R, 3) images, roughly in [-1, 1]."""
    params = generator_params(read_weights(path), path)
    model, resolution, channels = infer_model(params, path)
    gen, _ = progan.build(model, (resolution, resolution, channels))
    return gen, {"params": params}


def write_run(path: str, workdir: str) -> dict[str, Any]:
    """Write a run folder for the generator in `path` (see the module docstring); returns a
    summary. Refuses a workdir that already holds checkpoints; writes nothing on bad input."""
    params = generator_params(read_weights(path), path)
    model, resolution, channels = infer_model(params, path)
    if checkpoint_steps(workdir):
        raise InputError(f"{workdir!r} already holds checkpoints; pass a new --workdir")
    config = base_config()
    config.model = model
    config.data.source = ""  # imported: no training data
    config.data.image_size = resolution
    config.data.channels = channels
    config.loss = "wgan"
    data_shape = (resolution, resolution, channels)
    os.makedirs(workdir, exist_ok=True)
    save_run_files(config, workdir, data_shape, 0)
    checkpointer = Checkpointer(workdir, keep=1)
    checkpointer.save(0, {"step": np.zeros((), np.int32), "g_params": params, "g_batch_stats": {}})
    checkpointer.close()
    count = sum(int(np.size(leaf)) for leaf in _leaves(params))
    return {"resolution": resolution, "latent_dim": model.latent_dim, "params": count}


def _leaves(tree: dict[str, Any]):
    for value in tree.values():
        yield from _leaves(value) if isinstance(value, dict) else (value,)
