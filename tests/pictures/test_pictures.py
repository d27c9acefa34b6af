"""Tests for image grids, scatter plots and atomic PNG writes."""

import numpy as np
import pytest
from PIL import Image

from gan_jax import pictures
from gan_jax.pictures import grids


def _count(image, color):
    return int(np.all(image == np.array(color, np.uint8), axis=-1).sum())


def _has_color(image, color):
    return _count(image, color) > 0


# --- image_grid -----------------------------------------------------------------------------


def test_grid_shape_and_tile_placement():
    n, h, w, pad, ncols = 10, 5, 7, 2, 4
    # Tile i holds the constant value mapping to pixel 10 * i.
    values = (10.0 * np.arange(n)) / 127.5 - 1.0
    images = np.broadcast_to(values[:, None, None, None], (n, h, w, 3)).copy()
    grid = pictures.image_grid(images, ncols=ncols, padding=pad)
    assert grid.dtype == np.uint8
    assert grid.shape == (3 * (h + pad) + pad, ncols * (w + pad) + pad, 3)  # (23, 38, 3)
    assert grid.shape == (23, 38, 3)

    for i in range(n):
        top, left = pad + (i // ncols) * (h + pad), pad + (i % ncols) * (w + pad)
        assert np.all(grid[top : top + h, left : left + w] == 10 * i), i
    # Padding rows/columns and the two unused slots of the last row are white.
    assert np.all(grid[:pad] == 255) and np.all(grid[:, :pad] == 255)
    assert np.all(grid[pad + h : 2 * pad + h] == 255)
    assert np.all(grid[-pad:] == 255) and np.all(grid[:, -pad:] == 255)
    last_row = grid[2 * (h + pad) + pad : 2 * (h + pad) + pad + h]
    assert np.all(last_row[:, pad + 2 * (w + pad) :] == 255)


def test_grid_pixel_mapping_and_clipping():
    images = np.stack(
        [np.full((4, 4, 3), v, np.float32) for v in (-1.0, 1.0, 0.0, -3.0, 2.5, np.nan)]
    )
    grid = pictures.image_grid(images, ncols=6, padding=0)
    tiles = [grid[:, 4 * i : 4 * i + 4] for i in range(6)]
    assert np.all(tiles[0] == 0)
    assert np.all(tiles[1] == 255)
    assert np.all(tiles[2] == 128)  # round(127.5)
    assert np.all(tiles[3] == 0)
    assert np.all(tiles[4] == 255)
    assert np.all(tiles[5] == 128)  # NaN -> mid-grey, not garbage


def test_grid_grayscale_becomes_rgb_and_default_ncols():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (10, 6, 6, 1))
    grid = pictures.image_grid(images, padding=1)
    assert grid.shape == (3 * 7 + 1, 4 * 7 + 1, 3)  # ceil(sqrt(10)) = 4 columns
    np.testing.assert_array_equal(grid[..., 0], grid[..., 1])
    np.testing.assert_array_equal(grid[..., 0], grid[..., 2])
    np.testing.assert_array_equal(grid[1:7, 1:7, 0], pictures.to_uint8(images[0, ..., 0]))


@pytest.mark.parametrize("shape", [(4, 4, 3), (0, 4, 4, 3), (2, 4, 4, 2)])
def test_grid_rejects_bad_shapes(shape):
    with pytest.raises(ValueError):
        pictures.image_grid(np.zeros(shape))


# --- scatter_plot ---------------------------------------------------------------------------


def _ring(n, rng, radius=1.0):
    angles = rng.uniform(0, 2 * np.pi, n)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _bbox_width(image, color):
    cols = np.nonzero(np.any(np.all(image == np.array(color, np.uint8), axis=-1), axis=0))[0]
    return cols.max() - cols.min()


def test_scatter_shapes_and_colours():
    rng = np.random.default_rng(0)
    real = _ring(300, rng)
    fake = rng.normal(0, 0.3, (300, 2))
    means = np.array([[1.0, 0.0], [0.0, 1.0]])

    only_real = pictures.scatter_plot(real, np.zeros((0, 2)), size=256)
    both = pictures.scatter_plot(real, fake, means, size=256, title="step 100")
    for image in (only_real, both):
        assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    assert not np.array_equal(only_real, both)

    assert _has_color(only_real, grids.REAL_COLOR)
    assert _has_color(both, grids.REAL_COLOR)
    # Generated dots on white background (they are translucent); the legend marker alone
    # would also match, so count pixels: the 300 generated dots cover far more than a marker.
    fake_pixels = _count(both, grids.FAKE_ON_WHITE)
    assert fake_pixels > _count(only_real, grids.FAKE_ON_WHITE) + 300
    assert np.all(both[0, 0] == 255)  # white background


def test_scatter_title_is_drawn():
    rng = np.random.default_rng(0)
    real = _ring(50, rng)
    plain = pictures.scatter_plot(real, real, size=256)
    titled = pictures.scatter_plot(real, real, size=256, title="ring8")
    assert not np.array_equal(plain, titled)


def test_diverged_generator_does_not_shrink_real_data():
    rng = np.random.default_rng(0)
    real = _ring(200, rng)
    normal = pictures.scatter_plot(real, real + 0.01, size=256)
    diverged = pictures.scatter_plot(real, np.full((10, 2), 1e6), size=256)
    broken = pictures.scatter_plot(real, np.array([[np.nan, 0.0], [np.inf, -np.inf]]), size=256)
    # The fake points widen the axes by at most 3x, so the real ring keeps >= ~1/3 its width.
    assert _bbox_width(diverged, grids.REAL_COLOR) > 0.25 * _bbox_width(normal, grids.REAL_COLOR)
    assert _bbox_width(broken, grids.REAL_COLOR) > 0.9 * _bbox_width(normal, grids.REAL_COLOR)


def test_scatter_rejects_bad_points():
    with pytest.raises(ValueError, match="real"):
        pictures.scatter_plot(np.zeros((5, 3)), np.zeros((5, 2)))


# --- save_png -------------------------------------------------------------------------------


def test_save_png_round_trip_without_temp_files(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    path = tmp_path / "a" / "b" / "img.png"
    pictures.save_png(image, path)
    with Image.open(path) as f:
        assert f.format == "PNG"
        np.testing.assert_array_equal(np.asarray(f), image)

    pictures.save_png(255 - image, str(path))  # overwrite in place
    with Image.open(path) as f:
        np.testing.assert_array_equal(np.asarray(f), 255 - image)
    assert [p.name for p in path.parent.iterdir()] == ["img.png"]


def test_save_png_rejects_floats_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        pictures.save_png(np.zeros((4, 4, 3), np.float32), tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


# --- grid and gif (notebooks) ---------------------------------------------------------------


def test_grid_takes_rows_and_columns_and_upscales():
    images = np.full((2, 3, 4, 5, 1), -1.0, np.float32)
    images[1, 2] = 1.0  # bottom-right tile white
    picture = pictures.grid(images, scale=2)
    assert isinstance(picture, Image.Image)
    assert picture.size == (2 * (3 * 7 + 2), 2 * (2 * 6 + 2))  # (width, height), 2x
    pixels = np.asarray(picture)
    assert np.all(pixels[2 * 2 : 2 * 6, 2 * 2 : 2 * 7] == 0)  # first tile, black, scaled
    bottom_right = pixels[2 * 8 : 2 * 12, 2 * 16 : 2 * 21]
    assert np.all(bottom_right == 255)
    np.testing.assert_array_equal(
        np.asarray(pictures.grid(images[0], ncols=3)), pictures.image_grid(images[0], 3)
    )
    with pytest.raises(ValueError, match="conflicts"):
        pictures.grid(images, ncols=2)


def test_gif_round_trip(tmp_path):
    frames = [np.full((6, 8, 3), v, np.float32) for v in (-1.0, 0.0, 1.0)]
    path = tmp_path / "a.gif"
    data = pictures.gif(frames, path, fps=5, scale=2)
    assert path.read_bytes() == data and [p.name for p in tmp_path.iterdir()] == ["a.gif"]
    with Image.open(path) as gif:
        assert gif.size == (16, 12) and gif.n_frames == 3 and gif.info["duration"] == 200
        values = []
        for i in range(3):
            gif.seek(i)
            values.append(int(np.asarray(gif.convert("L"))[0, 0]))
    assert values == [0, 128, 255]
    with pytest.raises(ValueError, match="frames differ in size"):
        pictures.gif([frames[0], np.zeros((2, 2, 3), np.uint8)])
