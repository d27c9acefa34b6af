"""`folder:PATH` — a tree of PNG/JPEG/WebP/BMP files, decoded in parallel, by index.

Construction scans the tree and reads every header (in a thread pool), so unreadable files,
unsupported formats, a folder with no usable image, and an attribute file that matches no image
are found before training starts; skipped files are logged once with their count and the first
few paths. Pixels are decoded on demand, `workers` files at a time, by example index — so
batches stay a pure function of (seed, step) like every other source — and each decoded
(size, size, C) uint8 image is cached in memory when the whole dataset fits in `cache_mb`, making
every epoch after the first a memory copy.

A file whose header reads but whose pixels do not (a truncated download) is found when first
decoded; it is replaced by the next usable file in scan order, which depends only on the files,
so batches stay deterministic. Such files are counted in `num_skipped` and logged (the first few
by name).

Labels (`labels='auto'|'subfolders'|'none'`): the class of an image is the name of the top-level
subfolder it sits in, as in torchvision's ImageFolder; `auto` uses them when every image is in a
subfolder and there are at least two. Attributes: `attribute_file=PATH` joins a CelebA-style
`list_attr_celeba.txt` by file name (see `gan_jax.data.attributes`); images without a row are
skipped.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from absl import logging

from gan_jax.data import imagefiles
from gan_jax.data.attributes import join_attributes, parse_attribute_file
from gan_jax.data.indexed import Batch, IndexedSource
from gan_jax.data.preprocess import center_crop_box
from gan_jax.errors import ConfigError, DataError

LABEL_MODES = ("auto", "subfolders", "none")
SHOW_PATHS = 5  # how many skipped paths a log line names


def _listing(paths: list[str], total: int) -> str:
    more = f" (+{total - SHOW_PATHS} more)" if total > SHOW_PATHS else ""
    return ", ".join(paths[:SHOW_PATHS]) + more


def _class_names(files: list[str], mode: str, root: str) -> tuple[str, ...]:
    """Sorted top-level subfolder names that hold images, or () for an unlabelled source."""
    if mode not in LABEL_MODES:
        raise ConfigError(
            f"config.data.labels={mode!r} is not valid; choose one of: {', '.join(LABEL_MODES)}"
        )
    if mode == "none":
        return ()
    at_root = [f for f in files if "/" not in f]
    classes = tuple(sorted({f.split("/", 1)[0] for f in files if "/" in f}))
    if mode == "auto":
        return classes if not at_root and len(classes) >= 2 else ()
    if at_root:
        raise DataError(
            f"config.data.labels='subfolders' but {len(at_root)} images sit directly in {root} "
            f"(e.g. {at_root[0]}); move them into class subfolders or set data.labels=none"
        )
    return classes


class FolderSource(IndexedSource):
    """Images from a folder tree; see the module docstring."""

    def __init__(
        self,
        root: str,
        *,
        image_size: int = 0,
        crop: int = 0,
        channels: int = 0,
        labels: str = "auto",
        attribute_file: str = "",
        workers: int = 0,
        cache_mb: int = 4096,
        name: str | None = None,
    ) -> None:
        self.name = name or f"folder:{root}"
        self.root = root
        if not os.path.isdir(root):
            what = "is not a folder" if os.path.exists(root) else "does not exist"
            raise DataError(
                f"image folder {root!r} {what}; pass --config.data.source=folder:PATH with a "
                "folder of PNG/JPEG/WebP/BMP images"
            )
        files, unsupported = imagefiles.scan(root)
        if not files:
            found = f" (only {len(unsupported)} unsupported images)" if unsupported else ""
            raise DataError(
                f"image folder {root!r} has no {'/'.join(imagefiles.EXTENSIONS)} files{found}; "
                "point --config.data.source=folder:PATH at your images"
            )
        self.class_names = _class_names(files, labels, root)
        self._pool = ThreadPoolExecutor(workers or os.cpu_count() or 1, "gan_jax-decode")
        headers = list(self._pool.map(self._probe, files))
        usable = [i for i, h in enumerate(headers) if isinstance(h, imagefiles.Header)]
        skipped = unsupported + [
            f for f, h in zip(files, headers, strict=True) if isinstance(h, str)
        ]
        if not usable:
            raise DataError(
                f"image folder {root!r} has no usable images: none of its {len(files)} image "
                f"files could be read (e.g. {files[0]}: {headers[0]})"
            )
        if skipped:
            logging.warning(
                "%s: skipped %d of %d files that are unsupported or not readable images: %s",
                self.name,
                len(skipped),
                len(files) + len(unsupported),
                _listing(skipped, len(skipped)),
            )
        self.attributes = None
        if attribute_file:
            usable = self._join(attribute_file, [files[i] for i in usable], usable)
        self.files = [files[i] for i in usable]
        self.labels = None
        if self.class_names:
            index = {c: k for k, c in enumerate(self.class_names)}
            self.labels = np.array([index[f.split("/", 1)[0]] for f in self.files], np.int32)
        self.num_classes = len(self.class_names)
        self._set_shape([headers[i] for i in usable], image_size, crop, channels)
        self.crop = crop
        self.num_skipped = len(skipped)
        self._bad: set[int] = set()  # files whose pixels failed to decode
        self._lock = threading.Lock()
        nbytes = len(self.files) * int(np.prod(self.data_shape))
        self._cache: np.ndarray | None = None  # decoded images; rows valid where _cached
        self._cached: np.ndarray | None = None
        if nbytes <= cache_mb * 2**20:  # np.zeros commits memory only as rows are written
            self._cache = np.zeros((len(self.files), *self.data_shape), np.uint8)
            self._cached = np.zeros(len(self.files), bool)
        logging.info(
            "%s: %d images at %s, %d classes, %d attributes, decoded-image cache %s (%.0f MB)",
            self.name,
            len(self.files),
            "×".join(map(str, self.data_shape)),
            self.num_classes,
            len(self.attribute_names),
            "on" if self.cached else "off",
            nbytes / 2**20,
        )

    @property
    def cached(self) -> bool:
        """Whether decoded images are kept in memory (the dataset fits in `cache_mb`)."""
        return self._cache is not None

    def _empty(self) -> np.ndarray:
        return np.zeros((0, *self.data_shape), np.uint8)

    def __len__(self) -> int:
        return len(self.files)

    def _probe(self, path: str) -> imagefiles.Header | str:
        """The file's header, or why it cannot be used."""
        try:
            return imagefiles.probe(os.path.join(self.root, path))
        except Exception as e:  # PIL raises many types for bad files; the file is what matters
            return f"{type(e).__name__}: {e}"

    def _join(self, attribute_file: str, files: list[str], usable: list[int]) -> list[int]:
        names, table = parse_attribute_file(attribute_file)
        matched, rows = join_attributes(files, table)
        if not matched:
            raise DataError(
                f"attribute file {attribute_file!r} matches no image in {self.root!r} (its rows "
                f"name files like {next(iter(table))!r}, the folder has {files[0]!r}); pass the "
                "attribute file of this image folder"
            )
        if len(matched) < len(files):
            missing = sorted(set(range(len(files))) - set(matched))
            logging.warning(
                "%s: skipped %d images without a row in %s: %s",
                self.name,
                len(missing),
                attribute_file,
                _listing([files[i] for i in missing], len(missing)),
            )
        self.attribute_names, self.attributes = names, rows.astype(np.int32)
        return [usable[i] for i in matched]

    def _set_shape(self, headers: list, image_size: int, crop: int, channels: int) -> None:
        if not image_size:
            sides = {center_crop_box(h.height, h.width, crop)[2] for h in headers}
            if len(sides) > 1:
                raise DataError(
                    f"images in {self.root!r} crop to different sizes ({min(sides)} to "
                    f"{max(sides)} pixels); set --config.data.image_size (e.g. 64)"
                )
            image_size = sides.pop()
        channels = channels or (1 if all(h.gray for h in headers) else 3)
        self.data_shape = (image_size, image_size, channels)

    def _decode(self, index: int) -> np.ndarray | None:
        size, _, channels = self.data_shape
        path = os.path.join(self.root, self.files[index])
        try:
            return imagefiles.decode(path, size, self.crop, channels)
        except Exception as e:  # truncated/corrupt pixels: skip the file (see module docstring)
            with self._lock:
                if index not in self._bad:
                    self._bad.add(index)
                    self.num_skipped += 1
                    if len(self._bad) <= SHOW_PATHS:
                        logging.warning(
                            "%s: skipping %s, its pixels do not decode (%s: %s); %d such files "
                            "so far%s",
                            self.name,
                            self.files[index],
                            type(e).__name__,
                            e,
                            len(self._bad),
                            "; further ones are skipped silently"
                            if len(self._bad) == SHOW_PATHS
                            else "",
                        )
            return None

    def _load(self, index: int) -> tuple[int, np.ndarray]:
        """(index actually used, image): `index`, or the next usable file if it is broken."""
        for offset in range(len(self.files)):
            i = (index + offset) % len(self.files)
            if self._cache is not None and self._cached[i]:
                return i, self._cache[i]
            if i in self._bad:
                continue
            image = self._decode(i)
            if image is not None:
                if self._cache is not None:
                    self._cache[i] = image
                    self._cached[i] = True
                return i, image
        raise DataError(f"no image in {self.root!r} decodes; check the files")

    def read(self, indices: np.ndarray) -> Batch:
        loaded = list(self._pool.map(self._load, np.asarray(indices).tolist()))
        used = np.array([i for i, _ in loaded], np.int64)
        out = {"x": np.stack([image for _, image in loaded]) if loaded else self._empty()}
        if self.labels is not None:
            out["y"] = self.labels[used]
        if self.attributes is not None:
            out["attributes"] = self.attributes[used]
        return out
