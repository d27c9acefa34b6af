"""The layering of gan_jax (see the package docstring): imports only point down the layers.

Every `import` in every module of gan_jax, at any depth (function-level imports too), is
resolved to its subpackage; a module may import from its own subpackage and from lower layers,
never from a higher or a sibling one, and never from `experiments`.
"""

import ast
import os

import pytest
from helpers import ROOT

LAYERS = (
    ("errors",),
    ("platform",),
    ("config",),
    ("data", "losses", "pictures"),
    ("models", "metrics"),
    ("core", "feature_nets"),
    ("runs",),
    ("evaluation",),
    ("training",),
    ("encoder", "latent", "progan", "vae"),
    ("tools",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
PACKAGE = os.path.join(ROOT, "gan_jax")
TOP_LEVEL_MODULES = {"__init__.py", "config.py", "errors.py"}


def _modules():
    for directory, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                yield os.path.relpath(path, ROOT)


def _imported(tree: ast.AST, module: str) -> set[str]:
    """Dotted names of everything `module`'s source imports (relative imports resolved)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join(parent + ([base] if base else []))
            out.update(f"{base}.{alias.name}" for alias in node.names)
            out.add(base)
    return out


def _layer(dotted: str) -> str | None:
    """The subpackage (or top-level module) of gan_jax a dotted name lies in."""
    parts = dotted.split(".")
    if parts[0] != "gan_jax" or len(parts) < 2:
        return None
    return parts[1]


def test_every_package_has_a_rank_and_the_top_level_is_small():
    entries = set(os.listdir(PACKAGE)) - {"__pycache__"}
    assert {e for e in entries if e.endswith(".py")} == TOP_LEVEL_MODULES
    packages = {e for e in entries if os.path.isdir(os.path.join(PACKAGE, e))}
    ranked = set(RANK) - {"errors", "config"}
    assert packages == ranked, "a new subpackage needs a place in LAYERS and the package docstring"


@pytest.mark.parametrize("path", sorted(_modules()))
def test_imports_point_down_the_layers(path):
    module = path[:-3].replace(os.sep, ".").removesuffix(".__init__")
    if module == "gan_jax":
        return  # the package root may expose anything lazily
    own = _layer(module)
    with open(os.path.join(ROOT, path)) as f:
        tree = ast.parse(f.read(), path)
    bad = []
    for name in sorted(_imported(tree, module)):
        if name.split(".")[0] == "experiments":
            bad.append(f"{name} (gan_jax never imports experiments)")
        layer = _layer(name)
        if layer is None or layer == own or layer not in RANK:
            continue
        if RANK[layer] >= RANK[own]:
            bad.append(f"{name} (layer {RANK[layer]} '{layer}' from layer {RANK[own]} '{own}')")
    assert not bad, f"{module} imports upward or sideways: " + "; ".join(bad)


def test_the_checker_sees_an_upward_import():
    """The rule itself: a function-level upward import is found."""
    tree = ast.parse("def f():\n    from gan_jax.training import loop\n")
    names = _imported(tree, "gan_jax.core.step")
    assert "gan_jax.training.loop" in names
    assert RANK[_layer("gan_jax.training.loop")] > RANK[_layer("gan_jax.core.step")]
