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
    ("data", "losses", "pictures"),
    ("models", "metrics"),
    ("config",),
    ("core", "feature_nets"),
    ("runs",),
    ("evaluation",),
    ("training",),
    ("encoder", "latent", "progan", "vae"),
    ("tasks",),
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


def _module_names() -> set[str]:
    return {p[:-3].replace(os.sep, ".").removesuffix(".__init__") for p in _modules()}


def _resolve(name: str, known: set[str]) -> str | None:
    """The gan_jax module a dotted import name lies in (`gan_jax.core.spec.GANSpec` ->
    `gan_jax.core.spec`), or None outside gan_jax."""
    parts = name.split(".")
    for cut in range(len(parts), 1, -1):
        if ".".join(parts[:cut]) in known:
            return ".".join(parts[:cut])
    return None


def _dependencies(tree: ast.AST, module: str, known: set[str]) -> set[str]:
    """The gan_jax modules `module` needs loaded: for `from P import a`, the submodule `P.a`
    when there is one (P's own names otherwise); for `import P.Q`, `P.Q`."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(_resolve(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else _resolve(base, known))
    return {m for m in out if m and m != module and m != "gan_jax"}


def _import_graph() -> dict[str, set[str]]:
    known = _module_names()
    graph = {}
    for path in _modules():
        module = path[:-3].replace(os.sep, ".").removesuffix(".__init__")
        with open(os.path.join(ROOT, path)) as f:
            graph[module] = _dependencies(ast.parse(f.read(), path), module, known)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` (a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_import_cycle_of_any_kind():
    """Within and across packages, counting `TYPE_CHECKING` and function-level imports: every
    module of gan_jax can be read before the modules that import it (`gan_jax` itself, whose
    `__getattr__` imports lazily, is left out)."""
    cycle = _cycle(_import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_sees_a_type_checking_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from x.y import Z\n")
    assert _dependencies(tree, "gan_jax.m", {"gan_jax.m", "x.y"}) == {"x.y"}
