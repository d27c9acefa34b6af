"""Tests for image grids, charts (line, bar, scatter), GIFs and atomic PNG writes."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT
from PIL import Image

from gan_jax import pictures
from gan_jax.pictures import charts


def _near(image, color, tol=2):
    """Mask of the pixels within `tol` of `color` in every channel."""
    diff = np.abs(image.astype(np.int16) - np.array(color, np.int16))
    return np.all(diff <= tol, axis=-1)


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
    cols = np.nonzero(np.any(_near(image, color), axis=0))[0]
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

    assert _near(only_real, charts.REAL_COLOR).sum() > 300
    assert _near(both, charts.REAL_COLOR).sum() > 300
    # Generated dots on white background (they are translucent); the legend marker alone
    # would also match, so count pixels: the 300 generated dots cover far more than a marker.
    fake_pixels = _near(both, charts.FAKE_ON_WHITE).sum()
    assert fake_pixels > _near(only_real, charts.FAKE_ON_WHITE).sum() + 300
    assert np.all(both[0, 0] == 255)  # white background
    no_modes = pictures.scatter_plot(real, fake, size=256, title="step 100")
    crosses = _near(both, charts.MEAN_COLOR).sum() - _near(no_modes, charts.MEAN_COLOR).sum()
    assert crosses > 30  # two black crosses on the data (and one in the legend)


def test_generated_dots_are_drawn_on_top_of_real_ones():
    rng = np.random.default_rng(0)
    real = _ring(200, rng)
    alone = pictures.scatter_plot(real, np.zeros((0, 2)), size=256)
    covered = pictures.scatter_plot(real, real, size=256)
    a = charts.FAKE_ALPHA
    on_real = np.round(np.multiply(charts.REAL_COLOR, 1 - a) + np.multiply(charts.FAKE_COLOR, a))
    # Every real dot lies under a generated one: pure blue survives only in the legend marker.
    assert _near(covered, charts.REAL_COLOR).sum() < 0.1 * _near(alone, charts.REAL_COLOR).sum()
    assert _near(covered, on_real).sum() > 100


def test_scatter_title_is_drawn_and_odd_sizes_are_exact():
    rng = np.random.default_rng(0)
    real = _ring(50, rng)
    plain = pictures.scatter_plot(real, real, size=256)
    titled = pictures.scatter_plot(real, real, size=256, title="ring8")
    assert not np.array_equal(plain, titled)
    for size in (128, 301):
        assert pictures.scatter_plot(real, real, size=size, title="t").shape == (size, size, 3)
    with pytest.raises(ValueError, match="128"):
        pictures.scatter_plot(real, real, size=100)


def test_diverged_generator_does_not_shrink_real_data():
    rng = np.random.default_rng(0)
    real = _ring(200, rng)
    normal = pictures.scatter_plot(real, real + 0.01, size=256)
    diverged = pictures.scatter_plot(real, np.full((10, 2), 1e6), size=256)
    broken = pictures.scatter_plot(real, np.array([[np.nan, 0.0], [np.inf, -np.inf]]), size=256)
    # The fake points widen the axes by at most 3x, so the real ring keeps >= ~1/3 its width.
    assert _bbox_width(diverged, charts.REAL_COLOR) > 0.25 * _bbox_width(normal, charts.REAL_COLOR)
    assert _bbox_width(broken, charts.REAL_COLOR) > 0.9 * _bbox_width(normal, charts.REAL_COLOR)


def test_axis_limits_widen_at_most_three_times_and_count_off_plot_points():
    rng = np.random.default_rng(0)
    real, none = _ring(200, rng), np.zeros((0, 2))
    xmin, xmax, ymin, ymax = charts._axis_limits(real, none, none)
    assert xmax - xmin == pytest.approx(ymax - ymin)  # square
    assert xmax - xmin == pytest.approx(2.4, rel=0.01)  # ring diameter 2, +10% each side
    far = np.array([[1e6, 1e6], [-1e6, -1e6], [0.5, 0.5], [np.nan, 1.0]])
    limits = charts._axis_limits(real, far, none)
    assert limits[1] - limits[0] == pytest.approx(3 * (xmax - xmin), rel=0.01)
    assert charts._off_plot_label(far, limits) == "generated (2 off-plot, 1 not finite)"
    assert charts._off_plot_label(far[2:3], limits) == "generated"


def test_scatter_rejects_bad_points():
    with pytest.raises(ValueError, match="real"):
        pictures.scatter_plot(np.zeros((5, 3)), np.zeros((5, 2)))


# --- line_chart -----------------------------------------------------------------------------


def _line_fit(image, color):
    """(slope, straightness) of the pixels near `color`: slope of a straight line fitted to
    them, in pixels up per pixel right, and the fraction within 4 pixels of that line (a
    legend marker, or a curve, lies off it)."""
    rows, cols = np.nonzero(_near(image, color, tol=50))
    assert len(rows) > 100, "the series was not drawn"
    inliers = np.ones(len(rows), bool)
    for _ in range(3):
        fit = np.polyfit(cols[inliers], rows[inliers], 1)
        inliers = np.abs(rows - np.polyval(fit, cols)) < 4
    return -fit[0], inliers.mean()


def test_line_chart_draws_each_series_in_its_colour_the_right_way_up():
    steps = np.arange(0, 1001, 10)
    panel = ("losses", {"up": (steps, steps / 1000), "down": (steps, 1 - steps / 1000)})
    image = pictures.line_chart([panel])
    assert image.shape == (220, 420, 3) and image.dtype == np.uint8
    (up, straight_up), (down, straight_down) = (_line_fit(image, c) for c in charts.LINE_COLORS[:2])
    assert up > 0.2 and down < -0.2
    assert straight_up > 0.8 and straight_down > 0.8


def test_line_chart_layout_nan_points_and_empty_panels():
    steps = [0, 100, 200, 300]
    good = ("a", {"x": (steps, [1.0, 2.0, 3.0, 4.0])})
    holey = ("b", {"x": (steps, [1.0, np.nan, np.inf, 4.0]), "y": ([5], [2.0])})
    empty = ("c", {"x": ([], [])})
    one = pictures.line_chart([good], panel_size=(300, 200))
    two = pictures.line_chart([good, holey], panel_size=(300, 200))
    assert one.shape == (200, 300, 3) and two.shape == (200, 600, 3)
    three = pictures.line_chart([good, holey, empty], panel_size=(300, 200), columns=2)
    assert three.shape == (400, 600, 3)
    assert not _near(three[200:, :300], charts.LINE_COLORS[0]).any()  # "no data yet"
    assert _near(two[:, 300:], charts.LINE_COLORS[1]).any()  # a one-point series: a dot


def test_line_chart_panel_options():
    steps = np.arange(1, 101)
    series = {"x": (steps, np.exp(-steps / 10))}
    plain = pictures.line_chart([("p", series)])
    log = pictures.line_chart([("p", series, {"log": True})])
    guided = pictures.line_chart([("p", series, {"hline": 0.5})])
    assert not np.array_equal(plain, log) and not np.array_equal(plain, guided)
    # On a log axis an exponential decay is a straight line; on a linear one it is not.
    slope, straight = _line_fit(log, charts.LINE_COLORS[0])
    assert slope < -0.2 and straight > 0.8
    assert _line_fit(plain, charts.LINE_COLORS[0])[1] < 0.6
    with pytest.raises(ValueError, match="options"):
        pictures.line_chart([("p", series, {"logy": True})])


# --- bar_chart ------------------------------------------------------------------------------


def _bar_widths(image):
    """Length in pixels of each bar, top to bottom (bands of rows holding the bar colour)."""
    counts = _near(image, charts.BAR_COLOR).sum(axis=1)
    bands, start = [], None
    for row, count in enumerate([*counts, 0]):
        if count and start is None:
            start = row
        elif not count and start is not None:
            bands.append(int(counts[start:row].max()))
            start = None
    return bands


def test_bar_lengths_follow_the_means_and_missing_cells_have_no_bar():
    labels = ["a", "b", "c", "d"]
    image = pictures.bar_chart(labels, [("modes", [(3.0, 0.1), (1.0, 0.1), None, (2.0, 0.0)])])
    assert image.dtype == np.uint8 and image.ndim == 3
    widths = _bar_widths(image)
    assert len(widths) == 3
    assert widths[0] > widths[2] > widths[1]
    assert widths[0] / widths[1] == pytest.approx(3.0, rel=0.05)
    nothing = pictures.bar_chart(labels, [("modes", [None] * 4)])
    assert _bar_widths(nothing) == []


def test_bar_chart_panels_side_by_side():
    labels = ["a", "b"]
    cells = [(1.0, 0.5), (-0.5, 0.2)]
    one = pictures.bar_chart(labels, [("m", cells)])
    two = pictures.bar_chart(labels, [("m", cells), ("n", cells)], bar_height=30)
    assert two.shape[1] > 1.6 * one.shape[1] and two.shape[0] > one.shape[0]
    assert len(_bar_widths(one)) == 2  # the negative mean is a bar too, left of zero


def test_charts_are_imported_on_first_use():
    code = (
        "import sys; from gan_jax import pictures; "
        "pictures.image_grid(__import__('numpy').zeros((1, 2, 2, 3))); "
        "assert 'matplotlib' not in sys.modules; "
        "pictures.bar_chart; assert 'matplotlib' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


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


def test_bce_guide_lines_sit_at_log_2_and_twice_log_2():
    steps = np.arange(11.0)
    series = {"lo": (steps, np.zeros(11)), "hi": (steps, np.full(11, 2.0))}
    image = pictures.line_chart([("losses", series, {"hline": charts.BCE_GUIDES})])

    def row_of(color, tol):
        counts = _near(image, color, tol).sum(axis=1)
        return [r for r in range(len(counts)) if counts[r] > 0.3 * counts.max()]

    (r0,) = {round(np.mean(row_of(charts.LINE_COLORS[0], 40)))}
    (r2,) = {round(np.mean(row_of(charts.LINE_COLORS[1], 40)))}
    grey = row_of(tuple(round(255 * c) for c in charts._GREY), 30)
    guides = [np.mean(band) for band in np.split(grey, np.nonzero(np.diff(grey) > 1)[0] + 1)]
    expected = [r0 + (r2 - r0) * v / 2.0 for v in (np.log(4), np.log(2))]  # top row first
    np.testing.assert_allclose(sorted(guides), sorted(expected), atol=2.5)
