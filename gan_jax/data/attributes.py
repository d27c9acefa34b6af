"""Per-image attribute files in the CelebA `list_attr_celeba.txt` layout, joined to image files.

The layout: an optional first line with the number of rows, a line of K attribute names, then
one row per image, `FILENAME v1 … vK` with values 1 / -1 (or 1 / 0). Commas count as spaces, so
the Kaggle `list_attr_celeba.csv` (whose header starts with `image_id`) reads too. Values become
0/1 in the order of the names.
"""

from __future__ import annotations

import os

import numpy as np
from absl import logging

from gan_jax.errors import DataError


def _tokens(line: str) -> list[str]:
    return line.replace(",", " ").split()


def parse_attribute_file(path: str) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """(attribute names, {file name: 0/1 int8 vector}) from a CelebA-style attribute file."""
    if not os.path.isfile(path):
        raise DataError(
            f"attribute file {path!r} does not exist; set --config.data.attributes to a "
            "list_attr_celeba.txt-style file (or '' for none)"
        )
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [(n, _tokens(line)) for n, line in enumerate(f, start=1) if line.strip()]
    declared = None
    if lines and len(lines[0][1]) == 1 and lines[0][1][0].isdigit():
        declared = int(lines.pop(0)[1][0])
    if len(lines) < 2:
        raise DataError(
            f"attribute file {path!r} has no rows; expected a line of attribute names, then "
            "'FILENAME v1 ... vK' rows as in list_attr_celeba.txt"
        )
    names, rows = lines[0][1], lines[1:]
    if len(names) == len(rows[0][1]):  # a header with a column name for the files (CSV)
        names = names[1:]
    values: list[list[str]] = []
    for number, tokens in rows:
        if len(tokens) != len(names) + 1:
            raise DataError(
                f"{path} line {number}: {len(tokens) - 1} values but {len(names)} attribute "
                "names; every row must be 'FILENAME v1 ... vK'"
            )
        values.append(tokens[1:])
    try:
        table = np.array(values, dtype=np.int8)
    except (ValueError, OverflowError):
        number = next(n for n, t in rows if not all(v.lstrip("-").isdigit() for v in t[1:]))
        raise DataError(f"{path} line {number}: attribute values must be 1, -1 or 0") from None
    if not np.isin(table, (-1, 0, 1)).all():
        row = int(np.nonzero(~np.isin(table, (-1, 0, 1)).all(1))[0][0])
        raise DataError(f"{path} line {rows[row][0]}: attribute values must be 1, -1 or 0")
    if declared is not None and declared != len(rows):
        logging.warning("%s declares %d rows but has %d", path, declared, len(rows))
    files = [tokens[0] for _, tokens in rows]
    return tuple(names), dict(zip(files, (table > 0).astype(np.int8), strict=True))


def join_attributes(files: list[str], table: dict[str, np.ndarray]) -> tuple[list[int], np.ndarray]:
    """Match image paths (relative, '/'-separated) to attribute rows.

    A row matches by relative path, then by file name, then by name without extension (so rows
    for `000001.jpg` still match `000001.png` after a format conversion). Returns the positions
    in `files` that matched and their (n, K) rows.
    """
    by_stem: dict[str, str | None] = {}
    for key in table:
        stem = os.path.splitext(key)[0]
        by_stem[stem] = None if stem in by_stem else key  # ambiguous stems match nothing
    matched, rows = [], []
    for i, path in enumerate(files):
        name = path.rsplit("/", 1)[-1]
        key = next((k for k in (path, name) if k in table), None)
        key = key or by_stem.get(os.path.splitext(name)[0])
        if key is not None:
            matched.append(i)
            rows.append(table[key])
    k = len(next(iter(table.values()))) if table else 0
    return matched, np.asarray(rows, np.int8).reshape(len(rows), k)
