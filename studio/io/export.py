"""Fabrication exports of one design: a height map (.npy, .csv or 16-bit .png) and an STL mesh.

Geometry: the fabrication layout's (studio/physics/layout.py). Asperity i is a sphere of radius
R_i whose summit is at height h_i above the datum, centred at (x_i, y_i) of the layout. The base
plate's top face is at `base_level_mm`: the layout's plate level (max(relief, deepest contact)
below the flat's lowest position and the relief below every summit), or for Geometry.of without
one, the lowest summit minus DEFAULT_MIN_DEPTH_MM. Above the plate an asperity is the spherical
cap of its sphere; when it stands taller than its radius, the cap is a hemisphere on a cylinder
of radius R_i (a pillar). Caps of a layout do not meet above the flat's lowest position, but may
below it, near the plate: the height map takes the highest surface; the STL holds one closed
shell per asperity plus the plate, which slicers merge. The plate extends PLATE_MARGIN_MM beyond
the caps, as the layout's `plate_mm` says.

Numpy and the standard library only (zlib for PNG). All writes are atomic.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.files import atomic_write, atomic_write_bytes
from studio.physics.layout import MIN_RELIEF_MM, PLATE_MARGIN_MM, solid_half_width_mm

DEFAULT_MIN_DEPTH_MM = MIN_RELIEF_MM  # without a layout: the plate this far below the lowest summit
DEFAULT_PLATE_MM = 1.0  # plate thickness below its top face
DEFAULT_MARGIN_MM = PLATE_MARGIN_MM


class ExportError(StudioError, ValueError):
    """A design that cannot be exported as asked (bad sizes, unknown file type)."""


@dataclass
class Geometry:
    """Asperity spheres placed on the part: summits, radii and centres [mm], and the plate top [mm]."""

    height_mm: np.ndarray
    radius_mm: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    base_level_mm: float

    @classmethod
    def of(cls, height_mm, radius_mm, x_mm, y_mm, base_level_mm: float | None = None) -> "Geometry":
        arrays = [np.asarray(a, dtype=np.float64).ravel() for a in (height_mm, radius_mm, x_mm, y_mm)]
        n = arrays[0].size
        for label, a in zip(("height_mm", "radius_mm", "x_mm", "y_mm"), arrays):
            if a.size != n or n == 0:
                raise ExportError(f"{label}: {a.size} values, expected {n} (one per asperity, at least one)")
            if not np.all(np.isfinite(a)):
                raise ExportError(f"{label}: not every value is a finite number")
        if np.any(arrays[1] <= 0):
            raise ExportError("radius_mm: every tip radius must be > 0")
        base = float(np.min(arrays[0]) - DEFAULT_MIN_DEPTH_MM) if base_level_mm is None else float(base_level_mm)
        if not np.isfinite(base) or base >= np.max(arrays[0]):
            raise ExportError(f"base level {base:g} mm must lie below the highest summit {np.max(arrays[0]):g} mm")
        return cls(*arrays, base_level_mm=base)

    @classmethod
    def from_layout(cls, height_mm, radius_mm, layout) -> "Geometry":
        """Geometry of caps laid out by studio.physics.layout (its centres and plate level)."""
        return cls.of(height_mm, radius_mm, layout.x_mm, layout.y_mm, layout.base_level_mm)

    @classmethod
    def from_design_file(cls, design_file, name: str | None = None, base_level_mm: float | None = None):
        """Geometry of a design read with studio.io.design_file.read_design_file (best by default).

        The plate level is the file's layout group's; files without one (written before it existed)
        get the level the layout rules give for their asperities and material at their largest load.
        """
        d = design_file.design(name)
        x, y = design_file.layouts[d.name]
        if base_level_mm is None:
            layout = design_file.layout_details.get(d.name)
            if layout is not None:
                base_level_mm = layout.base_level_mm
            else:
                from studio.physics.layout import flat_lowest_mm, plate_level_mm
                from studio.physics.theta import E_STAR_IDX

                a = d.asperities
                base_level_mm = plate_level_mm(a.height_mm, flat_lowest_mm(a.height_mm, a.radius_mm,
                                                                           float(d.theta[E_STAR_IDX]), d.max_load_N))
        return cls.of(d.asperities.height_mm, d.asperities.radius_mm, x, y, base_level_mm)

    @property
    def depth_mm(self) -> np.ndarray:
        """How far each summit stands above the plate (≤ 0: buried)."""
        return self.height_mm - self.base_level_mm

    @property
    def footprint_mm(self) -> np.ndarray:
        """Radius of each asperity where it meets the plate (0 for one buried in it)."""
        return solid_half_width_mm(self.height_mm, self.radius_mm, self.base_level_mm)

    def extent_mm(self, margin_mm: float = DEFAULT_MARGIN_MM):
        """(x0, x1, y0, y1) of the plate: the footprints' bounding box plus a margin."""
        f = self.footprint_mm
        return (float(np.min(self.x_mm - f) - margin_mm), float(np.max(self.x_mm + f) + margin_mm),
                float(np.min(self.y_mm - f) - margin_mm), float(np.max(self.y_mm + f) + margin_mm))


# ------------------------------------------------------------------------------------------- height map

def height_map(geometry: Geometry, pixel_mm: float = 0.02, margin_mm: float = DEFAULT_MARGIN_MM,
               max_pixels: int = 25_000_000):
    """Surface height z [mm] on a regular grid over the plate: (z (rows, cols), x_mm (cols,), y_mm (rows,)).

    Row r is at y_mm[r] (ascending), column c at x_mm[c]. The plate is at base_level_mm.
    """
    if not (np.isfinite(pixel_mm) and pixel_mm > 0):
        raise ExportError(f"pixel size must be > 0 mm, got {pixel_mm!r}")
    x0, x1, y0, y1 = geometry.extent_mm(margin_mm)
    cols = int(np.ceil((x1 - x0) / pixel_mm)) + 1
    rows = int(np.ceil((y1 - y0) / pixel_mm)) + 1
    if rows * cols > max_pixels:
        raise ExportError(f"a {pixel_mm:g} mm pixel gives {rows}×{cols} pixels (> {max_pixels}); use a larger "
                          "pixel size")
    xs = x0 + pixel_mm * np.arange(cols)
    ys = y0 + pixel_mm * np.arange(rows)
    z = np.full((rows, cols), geometry.base_level_mm)
    for h, R, cx, cy, f in zip(geometry.height_mm, geometry.radius_mm, geometry.x_mm, geometry.y_mm,
                               geometry.footprint_mm):
        if f <= 0:
            continue
        c0, c1 = np.searchsorted(xs, [cx - f, cx + f])
        r0, r1 = np.searchsorted(ys, [cy - f, cy + f])
        dx = xs[c0:c1][None, :] - cx
        dy = ys[r0:r1][:, None] - cy
        rho2 = dx * dx + dy * dy
        inside = rho2 <= f * f
        surface = h - R + np.sqrt(np.clip(R * R - rho2, 0, None))
        patch = z[r0:r1, c0:c1]
        np.maximum(patch, np.where(inside, np.maximum(surface, geometry.base_level_mm), patch), out=patch)
    return z, xs, ys


def save_height_map(path, geometry: Geometry, pixel_mm: float = 0.02, margin_mm: float = DEFAULT_MARGIN_MM) -> Path:
    """Write the height map by file type: .npy (float64 z in mm), .csv (grid with x/y headers), .png (16-bit).

    The PNG maps base_level_mm → 0 and the highest summit → 65535; the scale is in its
    `friction-studio` text chunk (JSON: z0_mm, z1_mm, pixel_mm, x0_mm, y0_mm).
    """
    path = Path(path)
    z, xs, ys = height_map(geometry, pixel_mm, margin_mm)
    kind = path.suffix.lower()
    if kind == ".npy":
        with atomic_write(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, z)
    elif kind == ".csv":
        lines = ["# surface height z [mm]; first row: x [mm]; first column: y [mm]",
                 ",".join(["y_mm\\x_mm"] + [f"{x:.6g}" for x in xs])]
        lines += [",".join([f"{y:.6g}"] + [f"{v:.6g}" for v in row]) for y, row in zip(ys, z)]
        atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
    elif kind == ".png":
        z0, z1 = geometry.base_level_mm, float(z.max())
        scale = 65535.0 / (z1 - z0) if z1 > z0 else 0.0
        levels = np.clip(np.rint((z - z0) * scale), 0, 65535).astype(">u2")[::-1]  # top row = largest y
        meta = json.dumps({"z0_mm": z0, "z1_mm": z1, "pixel_mm": pixel_mm, "x0_mm": float(xs[0]),
                           "y0_mm": float(ys[0])})
        atomic_write_bytes(path, png_gray16(levels, {"friction-studio": meta}))
    else:
        raise ExportError(f"{path}: unknown height map type {kind!r}; use .npy, .csv or .png")
    return path


def png_gray16(levels: np.ndarray, text: dict | None = None) -> bytes:
    """A 16-bit greyscale PNG of `levels` (rows, cols) uint16, big-endian, first row on top."""
    rows, cols = levels.shape
    raw = np.empty((rows, 1 + 2 * cols), dtype=np.uint8)
    raw[:, 0] = 0  # filter: none
    raw[:, 1:] = np.ascontiguousarray(levels.astype(">u2")).view(np.uint8).reshape(rows, 2 * cols)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 16, 0, 0, 0, 0))
    for key, value in (text or {}).items():
        out += chunk(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1", errors="replace"))
    return out + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b"")


# -------------------------------------------------------------------------------------------------- STL

def stl_triangles(geometry: Geometry, segments: int = 32, rings: int = 12, plate_mm: float = DEFAULT_PLATE_MM,
                  margin_mm: float = DEFAULT_MARGIN_MM) -> np.ndarray:
    """Triangles (T, 3 vertices, 3 coordinates) [mm], outward-facing (counter-clockwise seen from outside).

    One closed shell per asperity standing out of the plate (cap, or hemisphere on a pillar,
    closed by a disc at the plate level) and the plate as a box from base_level_mm − plate_mm
    to base_level_mm.
    """
    if segments < 3 or rings < 1 or not plate_mm > 0:
        raise ExportError("STL needs segments ≥ 3, rings ≥ 1 and a plate thickness > 0 mm")
    tris = [_box(*geometry.extent_mm(margin_mm), geometry.base_level_mm - plate_mm, geometry.base_level_mm)]
    for h, R, cx, cy, c in zip(geometry.height_mm, geometry.radius_mm, geometry.x_mm, geometry.y_mm,
                               geometry.depth_mm):
        if c <= 0:
            continue
        tris.append(_asperity_shell(h, R, cx, cy, geometry.base_level_mm, segments, rings))
    return np.concatenate(tris, axis=0)


def _asperity_shell(h, R, cx, cy, base, segments, rings):
    """Closed surface of one asperity above z = base: profile revolved about its axis."""
    # Profile from the summit down: polar angle on the sphere, then the pillar's foot if taller than R.
    depth = h - base
    max_angle = np.pi / 2 if depth >= R else np.arccos((R - depth) / R)
    angles = np.linspace(0, max_angle, rings + 1)
    radius = R * np.sin(angles)
    z = h - R + R * np.cos(angles)
    if depth > R:
        radius = np.append(radius, R)
        z = np.append(z, base)
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    ring = lambda k: np.stack([cx + radius[k] * np.cos(phi), cy + radius[k] * np.sin(phi),  # noqa: E731
                               np.full(segments, z[k])], axis=-1)
    nxt = np.roll(np.arange(segments), -1)
    summit = np.array([cx, cy, h])
    out = [np.stack([np.broadcast_to(summit, (segments, 3)), ring(1), ring(1)[nxt]], axis=1)]
    for k in range(1, len(z) - 1):
        a, b = ring(k), ring(k + 1)
        out.append(np.stack([a, b, b[nxt]], axis=1))
        out.append(np.stack([a, b[nxt], a[nxt]], axis=1))
    bottom = ring(len(z) - 1)
    centre = np.array([cx, cy, z[-1]])
    out.append(np.stack([np.broadcast_to(centre, (segments, 3)), bottom[nxt], bottom], axis=1))
    return np.concatenate(out, axis=0)


def _box(x0, x1, y0, y1, z0, z1):
    v = np.array([[x, y, z] for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)])
    faces = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    tris = []
    for a, b, c, d in faces:
        tris += [(a, b, c), (a, c, d)]
    return v[np.array(tris)]


def save_stl(path, geometry: Geometry, *, binary: bool = True, segments: int = 32, rings: int = 12,
             plate_mm: float = DEFAULT_PLATE_MM, margin_mm: float = DEFAULT_MARGIN_MM) -> Path:
    """Write the asperities on their base plate as an STL file [mm], binary or ASCII, atomically."""
    tris = stl_triangles(geometry, segments, rings, plate_mm, margin_mm)
    normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)
    if binary:
        record = np.dtype([("normal", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
        data = np.zeros(len(tris), dtype=record)
        data["normal"], data["v"] = normals, tris
        header = b"friction-studio asperities, units mm".ljust(80, b" ")
        payload = header + struct.pack("<I", len(tris)) + data.tobytes()
    else:
        lines = ["solid friction_studio"]
        for n, t in zip(normals, tris):
            lines.append(f" facet normal {n[0]:.6e} {n[1]:.6e} {n[2]:.6e}\n  outer loop")
            lines += [f"   vertex {p[0]:.6e} {p[1]:.6e} {p[2]:.6e}" for p in t]
            lines.append("  endloop\n endfacet")
        lines.append("endsolid friction_studio")
        payload = ("\n".join(lines) + "\n").encode("ascii")
    return atomic_write_bytes(path, payload)


def read_stl_triangles(path) -> np.ndarray:
    """Triangles (T, 3, 3) of a binary or ASCII STL file (for checks and previews)."""
    data = Path(path).read_bytes()
    if data[:5] == b"solid" and b"facet" in data[:400]:
        numbers = [line.split()[1:] for line in data.decode("ascii").splitlines() if line.strip().startswith("vertex")]
        return np.array(numbers, dtype=np.float64).reshape(-1, 3, 3)
    count = struct.unpack("<I", data[80:84])[0]
    record = np.dtype([("normal", "<f4", 3), ("v", "<f4", (3, 3)), ("attr", "<u2")])
    if len(data) != 84 + count * record.itemsize:
        raise ExportError(f"{path}: binary STL should hold {count} triangles but its size does not match")
    return np.frombuffer(data, dtype=record, offset=84, count=count)["v"].astype(np.float64)
