"""README.md and docs/ stay true: the commands, configs, config fields, Python names and links
they give exist, the manual stays short, and no path of our build machines leaks into them."""

import glob
import importlib
import os
import re

import pytest
from helpers import ROOT

from gan_jax.config import RENAMED, base_config
from gan_jax.encoder.config import encoder_config
from gan_jax.progan.config import progan_config
from gan_jax.vae.config import vae_config

PAGES = sorted([os.path.join(ROOT, "README.md"), *glob.glob(os.path.join(ROOT, "docs", "*.md"))])


def _text(path: str) -> str:
    with open(path) as f:
        return f.read()


def _names(pattern: str) -> list[tuple[str, str]]:
    """(page, match) for every match of `pattern` in every page."""
    return [
        (os.path.relpath(p, ROOT), m)
        for p in PAGES
        for m in sorted(set(re.findall(pattern, _text(p))))
    ]


def _fields(config, prefix: str = "") -> set[str]:
    out = set()
    for key, value in config.items():
        out.add(prefix + key)
        if hasattr(value, "items"):
            out |= _fields(value, f"{prefix}{key}.")
    return out


FIELDS = set().union(
    *(_fields(c) for c in (base_config(), encoder_config(), progan_config(64), vae_config(True)))
)


def test_the_manual_is_short_and_the_docs_exist():
    with open(os.path.join(ROOT, "README.md")) as f:
        assert len(f.readlines()) <= 300
    assert len(PAGES) > 5


@pytest.mark.parametrize(("page", "module"), _names(r"python -m (experiments(?:\.\w+)*)"))
def test_every_command_names_an_existing_module(page, module):
    path = os.path.join(ROOT, *module.split("."))
    assert os.path.exists(f"{path}.py") or os.path.exists(f"{path}/__main__.py"), (page, module)


@pytest.mark.parametrize(("page", "name"), _names(r"--config[= ]([a-z0-9_]+)(?=[:\s`'\"]|$)"))
def test_every_config_name_exists(page, name):
    assert os.path.exists(os.path.join(ROOT, "experiments", "configs", f"{name}.py")), (page, name)


@pytest.mark.parametrize(("page", "field"), _names(r"--config\.([a-z0-9_]{2,}(?:\.[a-z0-9_]+)*)="))
def test_every_config_override_names_a_field(page, field):
    assert field in FIELDS or field in RENAMED, (page, field)


@pytest.mark.parametrize(("page", "dotted"), _names(r"`(gan_jax(?:\.[A-Za-z_]\w*)+)"))
def test_every_python_name_imports(page, dotted):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return
    pytest.fail(f"{page}: {dotted} does not import")


@pytest.mark.parametrize("page", [os.path.relpath(p, ROOT) for p in PAGES])
def test_relative_links_resolve_and_no_build_machine_paths(page):
    path = os.path.join(ROOT, page)
    text = _text(path)
    assert "../shared" not in text and "/work/" not in text
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert os.path.exists(os.path.join(os.path.dirname(path), target)), (page, target)


def test_the_model_family_tables_are_the_schemas():
    """docs/configs.md's per-family tables are `family.markdown()` of the registered families,
    so a new or changed field cannot go undocumented."""
    from gan_jax.models import family

    text = _text(os.path.join(ROOT, "docs", "configs.md"))
    begin = text.index("-->\n", text.index("<!-- families:begin")) + len("-->\n")
    assert text[begin : text.index("<!-- families:end -->")] == family.markdown()
