"""Fabrication exports: height map (.npy, .csv, 16-bit .png) and STL of the caps on a base plate."""
from __future__ import annotations

import json
import struct
import zlib
from collections import Counter

import numpy as np
import pytest

from studio.io import export
from studio.io.export import ExportError, Geometry, height_map, read_stl_triangles, save_height_map, save_stl

# Three asperities: a low cap, a tall one (a pillar under a hemisphere), one buried in the plate.
GEOMETRY = Geometry.of(height_mm=[0.30, 1.20, -0.5], radius_mm=[1.0, 0.4, 0.5], x_mm=[0.0, 2.5, -2.5],
                       y_mm=[0.0, 0.5, 1.0], base_level_mm=0.0)


def _cap_volume(h, R, base):
    c = h - base
    if c <= 0:
        return 0.0
    if c <= R:
        return np.pi * c * c * (3 * R - c) / 3
    return 2 / 3 * np.pi * R ** 3 + np.pi * R * R * (c - R)


def test_height_map_is_the_sphere_surface():
    z, xs, ys = height_map(GEOMETRY, pixel_mm=0.01)
    assert z.shape == (ys.size, xs.size)
    assert z.min() == pytest.approx(0.0) and z.max() == pytest.approx(1.2, abs=1e-4)
    # on a pixel at distance rho from the first summit: z = h − R + sqrt(R² − rho²)
    r, c = np.searchsorted(ys, 0.2), np.searchsorted(xs, 0.3)
    rho2 = (xs[c] - 0.0) ** 2 + (ys[r] - 0.0) ** 2
    assert z[r, c] == pytest.approx(0.30 - 1.0 + np.sqrt(1.0 - rho2), abs=1e-12)
    volume = (z - 0.0).sum() * 0.01 ** 2
    expected = sum(_cap_volume(h, R, 0.0) for h, R in zip(GEOMETRY.height_mm, GEOMETRY.radius_mm))
    assert volume == pytest.approx(expected, rel=0.01)


def test_height_map_files(tmp_path):
    z, xs, ys = height_map(GEOMETRY, pixel_mm=0.05)
    np.testing.assert_array_equal(np.load(save_height_map(tmp_path / "h.npy", GEOMETRY, pixel_mm=0.05)), z)
    grid = np.loadtxt(save_height_map(tmp_path / "h.csv", GEOMETRY, pixel_mm=0.05), delimiter=",", comments="#",
                      skiprows=2)
    np.testing.assert_allclose(grid[:, 1:], z, atol=1e-5)
    np.testing.assert_allclose(grid[:, 0], ys, atol=1e-5)
    levels, text = _read_png16(save_height_map(tmp_path / "h.png", GEOMETRY, pixel_mm=0.05).read_bytes())
    meta = json.loads(text["friction-studio"])
    back = meta["z0_mm"] + levels[::-1].astype(float) * (meta["z1_mm"] - meta["z0_mm"]) / 65535
    np.testing.assert_allclose(back, z, atol=(z.max() - z.min()) / 65535)
    with pytest.raises(ExportError, match="unknown height map type"):
        save_height_map(tmp_path / "h.tif", GEOMETRY)


def _read_png16(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, text = 8, b"", {}
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            cols, rows, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (16, 0)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"tEXt":
            key, value = body.split(b"\x00", 1)
            text[key.decode()] = value.decode("latin-1")
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(rows, 1 + 2 * cols)
    assert np.all(raw[:, 0] == 0)
    return raw[:, 1:].copy().view(">u2").reshape(rows, cols), text


@pytest.mark.parametrize("binary", [True, False])
def test_stl_is_closed_and_holds_the_right_volume(tmp_path, binary):
    path = save_stl(tmp_path / "part.stl", GEOMETRY, binary=binary, segments=64, rings=24, plate_mm=1.0)
    tris = read_stl_triangles(path)
    np.testing.assert_allclose(tris, export.stl_triangles(GEOMETRY, 64, 24, 1.0), atol=1e-5)
    # closed, consistently oriented shells: every directed edge is matched by its reverse exactly once
    edges = Counter()
    for t in np.round(tris, 5):
        for a, b in ((0, 1), (1, 2), (2, 0)):
            edges[(tuple(t[a]), tuple(t[b]))] += 1
    assert all(edges[(b, a)] == n for (a, b), n in edges.items())
    # divergence theorem: signed volume of the outward-facing mesh
    volume = np.einsum("ij,ij->i", tris[:, 0], np.cross(tris[:, 1], tris[:, 2])).sum() / 6
    x0, x1, y0, y1 = GEOMETRY.extent_mm()
    plate = (x1 - x0) * (y1 - y0) * 1.0
    caps = sum(_cap_volume(h, R, 0.0) for h, R in zip(GEOMETRY.height_mm, GEOMETRY.radius_mm))
    assert volume == pytest.approx(plate + caps, rel=2e-3)


def test_geometry_from_a_design_file(tmp_path):
    from studio.design.core import Design
    from studio.io.design_file import read_design_file, write_design_file
    from studio.physics import from_unit

    d = Design.evaluate(from_unit(np.full(23, 0.5)), 24, 1, name="a")
    f = read_design_file(write_design_file(tmp_path / "d.h5", [d]))
    g = Geometry.from_design_file(f)
    layout = f.layout_details["a"]
    assert g.base_level_mm == layout.base_level_mm  # the plate of the layout the file records
    assert g.base_level_mm <= min(d.asperities.height_mm.min(), layout.flat_lowest_mm) - export.DEFAULT_MIN_DEPTH_MM
    assert np.all(g.footprint_mm > 0)
    x0, x1, y0, y1 = g.extent_mm()
    assert (x1 - x0, y1 - y0) == pytest.approx(layout.plate_mm)  # the plate the layout reports
    path = save_stl(tmp_path / "a.stl", g, segments=8, rings=3)
    assert len(read_stl_triangles(path)) == 12 + 24 * (8 + 2 * 8 * 2 + 8)


def test_height_map_read_back_finds_one_summit_per_asperity_at_its_height(tmp_path):
    """The part exported is the part simulated: every asperity shows its own summit, where and as high as designed."""
    from scipy import ndimage

    from studio.physics import from_unit, realize
    from studio.physics.layout import plan_layout

    rng = np.random.default_rng(21)
    theta = from_unit(rng.random(23))
    a = realize(theta, 48, 7)
    layout = plan_layout(a.height_mm, a.radius_mm, theta[20])
    pixel = 0.01
    path = save_height_map(tmp_path / "part.npy", Geometry.from_layout(a.height_mm, a.radius_mm, layout),
                           pixel_mm=pixel)
    z = np.load(path)
    _, xs, ys = height_map(Geometry.from_layout(a.height_mm, a.radius_mm, layout), pixel_mm=pixel)
    peaks = (ndimage.maximum_filter(z, size=3, mode="nearest") == z) & (z > layout.base_level_mm + 1e-9)
    labels, count = ndimage.label(peaks, structure=np.ones((3, 3)))
    assert count == a.height_mm.size  # one summit per asperity, no more, none missing
    found = ndimage.maximum_position(z, labels, index=np.arange(1, count + 1))
    summit_x = np.array([xs[c] for _, c in found])
    summit_y = np.array([ys[r] for r, _ in found])
    summit_z = np.array([z[r, c] for r, c in found])
    for i in range(a.height_mm.size):
        k = int(np.argmin(np.hypot(summit_x - layout.x_mm[i], summit_y - layout.y_mm[i])))
        assert np.hypot(summit_x[k] - layout.x_mm[i], summit_y[k] - layout.y_mm[i]) <= pixel
        # within a pixel of the summit the sphere drops by at most pixel²/R
        assert a.height_mm[i] - pixel ** 2 / a.radius_mm[i] - 1e-12 <= summit_z[k] <= a.height_mm[i] + 1e-12


def test_failed_export_leaves_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "part.stl"
    path.write_bytes(b"previous")
    monkeypatch.setattr(export, "stl_triangles", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(MemoryError):
        save_stl(path, GEOMETRY)
    assert path.read_bytes() == b"previous"


@pytest.mark.parametrize("kwargs,words", [
    (dict(height_mm=[1, 2], radius_mm=[1], x_mm=[0, 1], y_mm=[0, 1]), "radius_mm: 1 values, expected 2"),
    (dict(height_mm=[1], radius_mm=[0], x_mm=[0], y_mm=[0]), "must be > 0"),
    (dict(height_mm=[np.nan], radius_mm=[1], x_mm=[0], y_mm=[0]), "finite"),
    (dict(height_mm=[1], radius_mm=[1], x_mm=[0], y_mm=[0], base_level_mm=2.0), "below the highest summit"),
])
def test_bad_geometry_is_refused(kwargs, words):
    with pytest.raises(ExportError, match=words):
        Geometry.of(**kwargs)
