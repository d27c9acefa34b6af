"""folder: sources — mixed formats, broken files, modes, crops, labels, attributes, errors."""

import io
import logging

import numpy as np
import pytest
from helpers import data_config
from PIL import Image

from gan_jax.data import imagefiles, make_source
from gan_jax.data.attributes import join_attributes, parse_attribute_file
from gan_jax.data.folder import FolderSource
from gan_jax.data.preprocess import crop_and_resize
from gan_jax.errors import ConfigError, DataError


def solid(value, size=(20, 20), mode="RGB"):
    fill = value if mode in ("L", "I;16") else (value,) * len(mode)
    return Image.new(mode, size, fill)


@pytest.fixture
def mixed(tmp_path):
    """Two class folders with every supported format, odd sizes, gray/RGBA/16-bit, a corrupt
    file, a truncated PNG, an unsupported GIF and a text file."""
    a, b = tmp_path / "cats", tmp_path / "dogs"
    a.mkdir(), b.mkdir()
    solid(10, (30, 40)).save(a / "rgb.png")
    solid(20, (50, 37)).save(a / "photo.JPG", quality=95)
    solid(30, (33, 33)).save(b / "web.webp", lossless=True)
    solid(40, (41, 29)).save(b / "bitmap.bmp")
    solid(50, (20, 24), "L").save(b / "gray.png")
    Image.new("RGBA", (26, 26), (255, 0, 0, 0)).save(a / "clear.png")  # fully transparent red
    solid(257 * 60, (22, 22), "I;16").save(b / "deep.png")
    (a / "corrupt.jpg").write_bytes(b"this is not a jpeg at all")
    png = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        png, "PNG"
    )
    (b / "truncated.png").write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    solid(0).save(a / "anim.gif")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden").mkdir()
    solid(0).save(tmp_path / ".hidden" / "x.png")
    return tmp_path


def test_mixed_folder_scans_labels_and_logs_skipped_once(mixed, caplog):
    caplog.set_level(logging.WARNING)
    src = make_source(data_config(f"folder:{mixed}", image_size=8), shard=(0, 1))
    assert len(src) == 8  # 9 decodable-looking files - corrupt.jpg (truncated is found later)
    assert src.class_names == ("cats", "dogs") and src.num_classes == 2
    assert src.data_shape == (8, 8, 3) and src.num_skipped == 2
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1
    assert "skipped 2 of 10 files" in skipped[0]
    assert "cats/anim.gif" in skipped[0] and "cats/corrupt.jpg" in skipped[0]
    by_name = dict(zip(src.files, src.labels, strict=True))
    assert by_name["cats/rgb.png"] == 0 and by_name["dogs/gray.png"] == 1


def test_decoded_values_per_mode(mixed):
    src = make_source(data_config(f"folder:{mixed}", image_size=8, labels="none"), shard=(0, 1))
    assert src.num_classes == 0 and "y" not in src.batch(0, 4, 0)
    pixels = {f: src.read(np.array([i]))["x"][0] for i, f in enumerate(src.files)}
    assert (pixels["cats/clear.png"] == 255).all()  # transparent -> white background
    assert (pixels["dogs/gray.png"] == 50).all()  # gray -> RGB repeats the value
    assert (pixels["dogs/deep.png"] == 60).all()  # 16-bit -> 8-bit
    assert (pixels["dogs/bitmap.bmp"] == 40).all() and (pixels["cats/rgb.png"] == 10).all()
    assert np.abs(pixels["cats/photo.JPG"].astype(int) - 20).max() <= 2  # lossy


def test_truncated_file_is_replaced_deterministically(mixed, caplog):
    caplog.set_level(logging.WARNING)
    config = data_config(f"folder:{mixed}", image_size=8, labels="none")
    src = make_source(config, shard=(0, 1))
    broken = src.files.index("dogs/truncated.png")
    batch = src.read(np.array([broken]))
    assert src.num_skipped == 3
    assert any("dogs/truncated.png" in r.getMessage() for r in caplog.records)
    following = src.read(np.array([(broken + 1) % len(src)]))
    np.testing.assert_array_equal(batch["x"], following["x"])  # the next file stands in
    fresh = make_source(config, shard=(0, 1))  # same batches in a new process
    for step in range(4):
        np.testing.assert_array_equal(fresh.batch(step, 4, 3)["x"], src.batch(step, 4, 3)["x"])


def test_channels_and_size_inference(tmp_path):
    for i in range(3):
        solid(100 + i, (12, 12), "L").save(tmp_path / f"{i}.png")
    gray = make_source(data_config(f"folder:{tmp_path}"), shard=(0, 1))
    assert gray.data_shape == (12, 12, 1)  # all gray -> 1 channel, size from the files
    assert make_source(data_config(f"folder:{tmp_path}", channels=3), (0, 1)).data_shape == (
        12,
        12,
        3,
    )
    solid(5, (20, 9)).save(tmp_path / "wide.png")
    with pytest.raises(DataError, match="crop to different sizes.*set --config.data.image_size"):
        make_source(data_config(f"folder:{tmp_path}"), shard=(0, 1))
    rgb = make_source(data_config(f"folder:{tmp_path}", image_size=6), shard=(0, 1))
    assert rgb.data_shape == (6, 6, 3)


def test_center_crop_then_resize_including_jpeg_draft(tmp_path):
    # Left third dark, the rest bright: the central square of a 900x300 image is all bright
    # only if the crop is centred; a bug in the draft-scaled box would shift it into the dark.
    img = np.full((300, 900, 3), 230, np.uint8)
    img[:, :300] = 20
    Image.fromarray(img).save(tmp_path / "wide.jpg", quality=95)
    out = imagefiles.decode(str(tmp_path / "wide.jpg"), 16, 0, 3)  # drafted at 1/8 scale
    assert out.shape == (16, 16, 3) and out.min() > 200
    # A crop smaller than the image: the central 100x100 of a ring pattern.
    ring = np.zeros((200, 240), np.uint8)
    ring[50:150, 70:170] = 255
    Image.fromarray(ring).save(tmp_path / "ring.png")
    out = imagefiles.decode(str(tmp_path / "ring.png"), 10, 100, 1)
    assert out.shape == (10, 10, 1) and out.min() == 255
    full = imagefiles.decode(str(tmp_path / "ring.png"), 10, 0, 1)
    assert full.min() == 0 and full.max() == 255
    # Same pixels as the in-memory path (npz/TFDS arrays) for a lossless file.
    noise = np.random.default_rng(1).integers(0, 256, (37, 29, 3), np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    np.testing.assert_array_equal(
        imagefiles.decode(str(tmp_path / "noise.png"), 12, 20, 3),
        crop_and_resize(noise[None], 12, 20)[0],
    )


def test_cache_decodes_each_file_once(tmp_path, monkeypatch):
    for i in range(6):
        solid(i * 10).save(tmp_path / f"{i}.png")
    calls = []
    real = imagefiles.decode
    monkeypatch.setattr(imagefiles, "decode", lambda *a: calls.append(a[0]) or real(*a))
    src = make_source(data_config(f"folder:{tmp_path}"), shard=(0, 1))
    assert src.cached
    for _ in range(3):
        src.read(np.arange(6))
    assert len(calls) == 6
    uncached = make_source(data_config(f"folder:{tmp_path}", cache_mb=0), shard=(0, 1))
    assert not uncached.cached
    uncached.read(np.arange(6))
    uncached.read(np.arange(6))
    assert len(calls) == 18


def write_attributes(path, names, rows, count=True, sep=" "):
    lines = [str(len(rows))] if count else []
    lines.append(sep.join(names))
    lines += [sep.join([f, *map(str, v)]) for f, v in rows]
    path.write_text("\n".join(lines) + "\n")


def test_attribute_file_formats(tmp_path):
    txt = tmp_path / "list_attr_celeba.txt"
    write_attributes(txt, ["Smiling", "Young"], [("000001.jpg", (1, -1)), ("000002.jpg", (-1, 1))])
    names, table = parse_attribute_file(str(txt))
    assert names == ("Smiling", "Young")
    assert table["000001.jpg"].tolist() == [1, 0] and table["000002.jpg"].tolist() == [0, 1]
    csv = tmp_path / "list_attr_celeba.csv"
    write_attributes(
        csv, ["image_id", "Smiling", "Young"], [("000001.jpg", (1, 0))], count=False, sep=","
    )
    names, table = parse_attribute_file(str(csv))
    assert names == ("Smiling", "Young") and table["000001.jpg"].tolist() == [1, 0]
    matched, rows = join_attributes(["a/000001.png", "000002.jpg", "zzz.png"], table)
    assert matched == [0] and rows.tolist() == [[1, 0]]  # by stem after a format change


@pytest.mark.parametrize(
    "text, message",
    [
        ("2\nA B\nx.png 1 -1\ny.png 1\n", "line 4: 1 values but 2 attribute names"),
        ("A B\nx.png 1 yes\n", "line 2: attribute values must be 1, -1 or 0"),
        ("A B\nx.png 1 7\n", "line 2: attribute values must be 1, -1 or 0"),
        ("A B\n", "has no rows"),
    ],
)
def test_attribute_file_errors(tmp_path, text, message):
    (tmp_path / "attr.txt").write_text(text)
    with pytest.raises(DataError, match=message):
        parse_attribute_file(str(tmp_path / "attr.txt"))


def test_attributes_join_by_file_name_and_follow_each_image(tmp_path):
    images = tmp_path / "img_align_celeba"
    images.mkdir()
    rows = []
    for i in range(12):  # pixel value encodes the index, the attribute bits encode it too
        solid(i * 20, (18, 22)).save(images / f"{i + 1:06d}.jpg", quality=100)
        rows.append((f"{i + 1:06d}.jpg", [1 if (i >> b) & 1 else -1 for b in range(4)]))
    rows.append(("999999.jpg", [1, 1, 1, 1]))  # a row without an image is fine
    write_attributes(tmp_path / "attr.txt", ["b0", "b1", "b2", "b3"], rows[1:])  # 000001 has none
    config = data_config(
        f"folder:{images}", image_size=8, attributes=str(tmp_path / "attr.txt"), flip=True
    )
    src = make_source(config, shard=(0, 1))
    assert len(src) == 11 and src.attribute_names == ("b0", "b1", "b2", "b3")
    batch = src.batch(2, 5, seed=0)
    assert batch["attributes"].shape == (5, 4) and batch["attributes"].dtype == np.int32
    index = np.round((batch["x"].mean(axis=(1, 2, 3)) + 1) * 127.5 / 20).astype(int)
    bits = (batch["attributes"] * (1 << np.arange(4))).sum(1)
    np.testing.assert_array_equal(index, bits)


def test_folder_errors(tmp_path):
    def make(path, **kw):
        return make_source(data_config(f"folder:{path}", **kw), shard=(0, 1))

    with pytest.raises(DataError, match="'/no/such/dir' does not exist"):
        make("/no/such/dir")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(DataError, match="is not a folder"):
        make(tmp_path / "file.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    solid(0).save(empty / "only.gif")
    with pytest.raises(DataError, match="has no .png/.jpg/.jpeg/.webp/.bmp files.*1 unsupported"):
        make(empty)
    with pytest.raises(DataError, match="no usable images: none of its 1 image files.*file.png"):
        make(tmp_path)
    good = tmp_path / "good"
    (good / "sub").mkdir(parents=True)
    solid(0).save(good / "root.png")
    solid(0).save(good / "sub" / "a.png")
    assert make(good).num_classes == 0  # auto: an image at the root means no labels
    with pytest.raises(DataError, match="labels='subfolders' but 1 images sit directly in"):
        make(good, labels="subfolders")
    with pytest.raises(ConfigError, match="config.data.labels='bogus' is not valid"):
        FolderSource(str(good), labels="bogus")
    write_attributes(tmp_path / "attr.txt", ["A"], [("000001.jpg", (1,))])
    with pytest.raises(DataError, match="matches no image in .*'000001.jpg'.*'root.png'"):
        make(good, attributes=str(tmp_path / "attr.txt"))
    with pytest.raises(DataError, match="attribute file '/no/attr.txt' does not exist"):
        make(good, attributes="/no/attr.txt")
