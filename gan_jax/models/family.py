"""Model families: each network file declares its own `model.*` fields, builder and docs.

A family is `Family(name, fields, build, doc)`, registered with `register` by the module that
defines its networks (`mlp.py`, `dcgan.py`, `progan.py`, ...; a test or a user's package may
register more). `model.name` picks the family; the run's `model` block then holds the SHARED
fields plus that family's own, and nothing else.

How a config gets there: `union_block()` (what `gan_jax.config.base_config()` puts in
`config.model`) holds the shared fields with their defaults and every registered family's fields
as unset placeholders (None), so a config file or `--config.model.FIELD=V` may set any family's
field and `--config.model.name=mlp` switches family on the command line (`switched`: the fields
the config file set for its own family are then unset). `resolve(block)` turns
it into the chosen family's block: unset fields get the family's defaults, and a field set for
another family is a one-line ConfigError naming the family that owns it. `prune(block)` does the
same for a config a run wrote before families had schemas (every field present, with values):
fields of other families are dropped, as those runs ignored them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any

import ml_collections
from ml_collections import config_dict

from gan_jax.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Field:
    """One `model.*` field: its default, what it means, and (for strings) its choices."""

    default: Any
    doc: str
    choices: tuple[Any, ...] = ()


# Fields every family has: the latent size, classes, computation dtype and PacGAN packing.
SHARED: dict[str, Field] = {
    "name": Field("dcgan", "the model family (the names below)"),
    "latent_dim": Field(100, "size of z"),
    "num_classes": Field(0, "classes of a conditional model (0 = unconditional)"),
    "dtype": Field(
        "float32",
        "computation dtype; parameters stay float32 (mixed precision)",
        ("float32", "bfloat16"),
    ),
    "pack": Field(1, "PacGAN: D judges packs of this many samples (`gan_jax.models.packing`)"),
}

# A builder: (the resolved model block, data shape, dtype, D options) -> (G, D) flax modules.
Builder = Callable[[ml_collections.ConfigDict, tuple[int, ...], Any, Any], tuple[Any, Any]]


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family: `name` (its `model.name`), its own `fields`, its `build`er and a one-line
    `doc` (the paper or walkthrough it follows; the builder's docstring has the parameter-count
    formula)."""

    name: str
    fields: Mapping[str, Field]
    build: Builder
    doc: str


_FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Make `model.name = family.name` build `family`. A field name shared with another family
    must have the same type there (the union block has one placeholder per name)."""
    clash = set(family.fields) & set(SHARED)
    if clash:
        raise ValueError(f"family {family.name!r} redeclares shared model fields {sorted(clash)}")
    for other in (f for f in _FAMILIES.values() if f.name != family.name):
        for field in set(family.fields) & set(other.fields):
            mine, theirs = type(family.fields[field].default), type(other.fields[field].default)
            if mine is not theirs:
                raise ValueError(
                    f"model.{field} is a {mine.__name__} in {family.name!r} but a "
                    f"{theirs.__name__} in {other.name!r}"
                )
    _FAMILIES[family.name] = family
    return family


def unregister(name: str) -> None:
    """Forget family `name` (a test's or a notebook's own family)."""
    _FAMILIES.pop(name, None)


def names() -> list[str]:
    """Sorted names accepted by `model.name`."""
    return sorted(_FAMILIES)


def get(name: Any) -> Family:
    """The family called `name`; ConfigError naming the choices."""
    if name not in _FAMILIES:
        raise ConfigError(
            f"unknown model config.model.name={name!r}; choose one of: {', '.join(names())}"
        )
    return _FAMILIES[name]


def owners(field: str) -> list[str]:
    """Names of the families that have `model.<field>`."""
    return sorted(f.name for f in _FAMILIES.values() if field in f.fields)


def union_block() -> ml_collections.ConfigDict:
    """The parse-time `model` block: shared fields with defaults, every family field unset."""
    block: dict[str, Any] = {k: f.default for k, f in SHARED.items()}
    for family in _FAMILIES.values():
        for name, field in family.fields.items():
            block.setdefault(name, config_dict.placeholder(type(field.default)))
    return ml_collections.ConfigDict(block)


def model_config(name: str, **values: Any) -> ml_collections.ConfigDict:
    """Family `name`'s resolved block with `values` set (for tests and notebooks)."""
    return resolve({**{k: f.default for k, f in SHARED.items()}, "name": name, **values})


def _foreign(field: str, value: Any, family: str) -> ConfigError:
    owning = owners(field)
    if not owning:
        return ConfigError(
            f"config.model.{field}={value!r} is not a field of any model family; remove it "
            "(each family's fields: docs/configs.md)"
        )
    names = " / ".join(repr(name) for name in owning)
    return ConfigError(
        f"config.model.{field}={value!r} belongs to model.name={names}, not {family!r}; remove "
        "it (each family's fields: docs/configs.md)"
    )


def _check(family: Family, name: str, value: Any, field: Field) -> None:
    if field.choices and value not in field.choices:
        raise ConfigError(
            f"config.model.{name}={value!r} is not valid for model.name={family.name!r}; "
            f"choose one of: {', '.join(map(str, field.choices))}"
        )


def resolve(block: Mapping[str, Any]) -> ml_collections.ConfigDict:
    """The chosen family's model block: shared + own fields, unset (None) ones at their
    defaults; ConfigError (one line) for an unknown family or another family's field."""
    family = get(block.get("name", SHARED["name"].default))
    out: dict[str, Any] = {}
    for name, value in dict(block).items():
        own = SHARED.get(name) or family.fields.get(name)
        if own is None:
            if value is not None:
                raise _foreign(name, value, family.name)
            continue
        out[name] = own.default if value is None else value
    for name, field in {**SHARED, **family.fields}.items():
        out.setdefault(name, field.default)
        _check(family, name, out[name], field)
    return ml_collections.ConfigDict(out)


def prune(block: Mapping[str, Any]) -> dict[str, Any]:
    """A stored model block (a run's config.json, written with every family's fields) with
    the fields of other families dropped and missing ones at their defaults."""
    family = get(block.get("name", SHARED["name"].default))
    own = {**SHARED, **family.fields}
    kept = {k: v for k, v in block.items() if k in own and v is not None}
    return {**{k: f.default for k, f in own.items()}, **kept}


def switched(block: ml_collections.ConfigDict, kept: Collection[str]) -> list[str]:
    """Unset, in place, the fields of `block` that its family (`model.name`, just changed on
    the command line) lacks, except those named in `kept` (set on the command line too, so
    `resolve` still refuses them): the config file set them for the family it was written for.
    Returns the names unset."""
    own = {**SHARED, **get(block.get("name")).fields}
    dropped = [k for k, v in block.items() if k not in own and v is not None and k not in kept]
    for name in dropped:
        block[name] = None
    return dropped


def value(block: Mapping[str, Any], field: str) -> Any:
    """`model.<field>` as the run will see it (the family default when unset); None when the
    chosen family has no such field."""
    family = get(block.get("name", SHARED["name"].default))
    spec = SHARED.get(field) or family.fields.get(field)
    if spec is None:
        return None
    current = block.get(field)
    return spec.default if current is None else current


def integer(config: Mapping[str, Any], field: str, minimum: int) -> int:
    """`model.<field>` checked to be an integer >= `minimum` (ConfigError otherwise)."""
    value = config.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"config.model.{field} must be an integer >= {minimum}, got {value!r}")
    return value


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """docs/configs.md's per-family tables: each family's doc line and fields."""
    lines = ["| shared field | default | meaning |", "|---|---|---|"]
    lines += [f"| `{k}` | `{f.default!r}` | {_cell(f.doc)} |" for k, f in SHARED.items()]
    for family in (_FAMILIES[n] for n in names()):
        lines += ["", f"### `model.name='{family.name}'`", "", family.doc, ""]
        if not family.fields:
            lines.append("No fields of its own.")
            continue
        lines += ["| field | default | meaning |", "|---|---|---|"]
        for name, field in family.fields.items():
            choices = f" ({' / '.join(map(str, field.choices))})" if field.choices else ""
            lines.append(f"| `{name}` | `{field.default!r}` | {_cell(field.doc)}{choices} |")
    return "\n".join(lines) + "\n"


def image_shape(name: str, data_shape: tuple[int, ...], multiple: int, fixed: int = 0) -> None:
    """ConfigError unless `data_shape` is square (H, W, C) with H a multiple of `multiple`
    (or exactly `fixed`)."""
    ok = len(data_shape) == 3 and data_shape[0] == data_shape[1] and data_shape[0] % multiple == 0
    if not ok or (fixed and data_shape[0] != fixed):
        size = f"{fixed}x{fixed}" if fixed else f"square, with a side divisible by {multiple}"
        raise ConfigError(f"model.name={name!r} needs (H, W, C) images {size}, got {data_shape}")


def unconditional(config: Mapping[str, Any], name: str) -> None:
    """ConfigError when an unconditional family is given classes."""
    if config.get("num_classes", 0):
        raise ConfigError(
            f"model.name={name!r} is unconditional (as its walkthrough); set model.num_classes=0"
        )
