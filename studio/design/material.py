"""The user's material as a given: E*, τ0 and B fixed, bounded or free (issue 21). No Qt.

A design's material is three of θ's entries (studio.physics.theta: E_star [MPa], tau0 [MPa], B [-]).
An engineer has a material pair: they measured or looked up E*, τ0 and B, or choose among a few. A
`Material` says, per quantity, the range (lo, hi) the designs must keep (lo = hi: fixed; None: free,
the whole design box). It travels with the Target (Target.material), so every engine honours it:

  * proposals (a model's decoder, a Sobol screen, a design to refine) are first *adapted* (`adapt`):
    the law is unchanged by (E*, τ0, lengths) → (E*/q, τ0/q, lengths·√q) (Hertz: loads ∝ E*·√R·d^{3/2},
    areas ∝ R·d), so a proposal's geometry is rescaled to bring its E* into the user's range, exactly
    while the lengths stay in the box; then τ0 and B are solved exactly within their ranges
    (studio.physics.fit_tau0_B acts only on what is free);
  * every search (CMA-ES, gradient polish) works within the ranges (`unit_bounds`, `project_unit`).

Ranges are checked against the design box: a value outside it, a NaN, a negative value or a reversed
range is a MaterialError naming the flag or field.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from studio.errors import StudioError
from studio.physics.theta import (
    B_IDX,
    E_STAR_IDX,
    MATERIAL_FIELDS,
    MATERIAL_LOWER,
    MATERIAL_UNITS,
    MATERIAL_UPPER,
    MU_H_IDX,
    MU_R_IDX,
    SD_H_IDX,
    SD_R_IDX,
    TAU0_IDX,
    THETA_LOWER,
    THETA_SIZE,
    THETA_UPPER,
)

FIELD_IDX = {"E_star": E_STAR_IDX, "tau0": TAU0_IDX, "B": B_IDX}  # θ's material entries by θ name
FLAGS = {"E_star": "--E-star", "tau0": "--tau0", "B": "--B"}  # the command line's flags
LABELS = {"E_star": "E*", "tau0": "τ0", "B": "B"}  # what the studio calls them
UNITS = dict(zip(MATERIAL_FIELDS, MATERIAL_UNITS))
BOX = {f: (lo, hi) for f, lo, hi in zip(MATERIAL_FIELDS, MATERIAL_LOWER, MATERIAL_UPPER)}
_LENGTH_IDX = np.sort(np.concatenate([MU_H_IDX, SD_H_IDX, MU_R_IDX, SD_R_IDX]))  # θ entries in mm


class MaterialError(StudioError, ValueError):
    """A material value or range that cannot be used; the message names the flag or field."""


def check_range(field: str, lo, hi, where: str | None = None) -> tuple[float, float]:
    """(lo, hi) as floats, or MaterialError naming `where` (default: the θ name and unit)."""
    where = where or f"{field} [{UNITS[field]}]"
    try:
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        raise MaterialError(f"{where}: {lo!r}:{hi!r} is not a number or range") from None
    box_lo, box_hi = BOX[field]
    unit = "" if UNITS[field] == "-" else f" {UNITS[field]}"
    for v in (lo, hi):
        if not math.isfinite(v):
            raise MaterialError(f"{where}: {v} is not a finite number")
        if v < 0:
            raise MaterialError(f"{where}: {v:g}{unit} is negative")
    if lo > hi:
        raise MaterialError(f"{where}: the range {lo:g}:{hi:g} is reversed (give low:high)")
    tol = 1e-9 * (box_hi - box_lo)
    if lo < box_lo - tol or hi > box_hi + tol:
        raise MaterialError(f"{where}: {lo:g}{'' if lo == hi else f':{hi:g}'}{unit} is outside the physics' box "
                            f"[{box_lo:g}, {box_hi:g}]{unit}")
    return max(lo, box_lo), min(hi, box_hi)


def parse_range(text: str, field: str, where: str | None = None) -> tuple[float, float]:
    """'5' → (5, 5) (fixed) or '4:8' → (4, 8) (bounded), in θ's units; MaterialError naming `where`."""
    where = where or FLAGS[field]
    parts = str(text).strip().split(":")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise MaterialError(f"{where}: {text!r} is not a value or a range low:high")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise MaterialError(f"{where}: {text!r} is not a number or a range low:high") from None
    return check_range(field, values[0], values[-1], where)


@dataclass(frozen=True)
class Material:
    """The user's material: per θ material entry a range (lo, hi) (lo = hi: fixed) or None (free)."""

    E_star: tuple[float, float] | None = None
    tau0: tuple[float, float] | None = None
    B: tuple[float, float] | None = None
    name: str = ""  # a preset's name, if it came from one

    def __post_init__(self):
        for field in MATERIAL_FIELDS:
            r = getattr(self, field)
            if r is not None:
                object.__setattr__(self, field, check_range(field, *r))

    # -- reading
    @property
    def free(self) -> bool:
        """True when every quantity is free (the design box): no constraint at all."""
        return all(getattr(self, f) is None for f in MATERIAL_FIELDS)

    def range(self, field: str) -> tuple[float, float]:
        """The (lo, hi) a design's `field` must keep (the box's when free)."""
        return getattr(self, field) or BOX[field]

    def fixed(self, field: str) -> bool:
        r = getattr(self, field)
        return r is not None and r[0] == r[1]

    def contains(self, theta) -> bool:
        """Whether θ (23,) keeps every range (to a hair of round-off)."""
        theta = np.asarray(theta, dtype=np.float64)
        for field, i in FIELD_IDX.items():
            lo, hi = self.range(field)
            tol = 1e-9 * (BOX[field][1] - BOX[field][0])
            if not lo - tol <= theta[i] <= hi + tol:
                return False
        return True

    def describe(self) -> str:
        """One line, e.g. 'E* 5 MPa, τ0 0.1–0.2 MPa, B free'."""
        parts = []
        for field in MATERIAL_FIELDS:
            r = getattr(self, field)
            unit = "" if UNITS[field] == "-" else f" {UNITS[field]}"
            text = "free" if r is None else (f"{r[0]:g}{unit}" if r[0] == r[1] else f"{r[0]:g}–{r[1]:g}{unit}")
            parts.append(f"{LABELS[field]} {text}")
        return (f"{self.name}: " if self.name else "") + ", ".join(parts)

    # -- the engines' view (unit box [0, 1]^23 of studio.physics.to_unit)
    def unit_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) (23,) in the unit box: 0 and 1 except the material entries' ranges."""
        lo, hi = np.zeros(THETA_SIZE), np.ones(THETA_SIZE)
        span = THETA_UPPER - THETA_LOWER
        for field, i in FIELD_IDX.items():
            a, b = self.range(field)
            lo[i], hi[i] = (a - THETA_LOWER[i]) / span[i], (b - THETA_LOWER[i]) / span[i]
        return lo, hi

    def project_unit(self, units) -> np.ndarray:
        """Unit-box designs (..., 23) with the material entries clipped into their ranges."""
        lo, hi = self.unit_bounds()
        return np.clip(np.asarray(units, dtype=np.float64), lo, hi)

    def project(self, theta) -> np.ndarray:
        """Designs θ (..., 23) with the material entries clipped into their ranges."""
        out = np.array(theta, dtype=np.float64, copy=True)
        for field, i in FIELD_IDX.items():
            out[..., i] = np.clip(out[..., i], *self.range(field))
        return out

    def adapt(self, theta) -> np.ndarray:
        """Designs θ (P, 23) moved into the ranges with their laws kept where the box allows (module doc).

        Per row: q from E*'s range (E*/q in it), the q nearest the one that also puts τ0/q in τ0's range,
        then nearest 1 (the smallest change); lengths ×√q (clipped to the box), E*/q and τ0/q, then every
        material entry clipped into its range (B enters linearly: the fit of τ0 and B follows)."""
        theta = np.array(theta, dtype=np.float64, ndmin=2, copy=True)
        if self.free:
            return theta
        E, t = theta[:, E_STAR_IDX], theta[:, TAU0_IDX]
        (e_lo, e_hi), (t_lo, t_hi) = self.range("E_star"), self.range("tau0")
        q_lo, q_hi = E / e_hi, E / e_lo  # E/q in [e_lo, e_hi]
        p_lo, p_hi = t / t_hi, t / t_lo  # τ0/q in [t_lo, t_hi]
        both_lo, both_hi = np.maximum(q_lo, p_lo), np.minimum(q_hi, p_hi)
        overlap = both_lo <= both_hi
        q = np.where(overlap, np.clip(1.0, both_lo, both_hi),
                     np.clip(np.where(p_hi < q_lo, p_hi, p_lo), q_lo, q_hi))  # nearest τ0's range otherwise
        theta[:, E_STAR_IDX] = E / q
        theta[:, TAU0_IDX] = t / q
        theta[:, _LENGTH_IDX] *= np.sqrt(q)[:, None]
        theta[:, _LENGTH_IDX] = np.clip(theta[:, _LENGTH_IDX], THETA_LOWER[_LENGTH_IDX], THETA_UPPER[_LENGTH_IDX])
        return self.project(theta)

    # -- files and settings
    def as_dict(self) -> dict:
        """{'E_star': [lo, hi] or None, 'tau0': ..., 'B': ..., 'name': ...} (JSON-ready)."""
        out = {f: (None if getattr(self, f) is None else [float(v) for v in getattr(self, f)]) for f in MATERIAL_FIELDS}
        out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: dict, where: str = "material") -> "Material":
        """The inverse of `as_dict`; MaterialError naming `where` and the field."""
        if not isinstance(data, dict):
            raise MaterialError(f"{where}: expected an object with E_star, tau0, B")
        values = {}
        for field in MATERIAL_FIELDS:
            r = data.get(field)
            if r is None:
                values[field] = None
                continue
            if not isinstance(r, (list, tuple)) or len(r) != 2:
                raise MaterialError(f"{where}.{field}: expected [low, high] or null, got {r!r}")
            values[field] = check_range(field, r[0], r[1], f"{where}.{field}")
        return cls(**values, name=str(data.get("name", "")))

    def with_field(self, field: str, value: tuple[float, float] | None) -> "Material":
        """A copy with one quantity changed (None: free); the preset name is dropped (it is the user's now)."""
        return dataclasses.replace(self, **{field: value}, name="")


FREE = Material()

# Named starting points the user edits and saves (θ's box: E* 1–10 MPa, τ0 0.05–0.5 MPa, B 0–0.5).
# E* = E/(1 − ν²) with ν = 0.5 against a rigid flat, from typical Young's moduli of the named elastomers
# (rounded; a real batch is measured). The interface's τ0 and B depend on the counter-face and surface
# state, so the elastomer presets leave them free (fitted exactly, per design); the last preset fixes
# all three at the box's centre, as an example of a fully given material.
PRESETS: dict[str, Material] = {m.name: m for m in (
    Material(E_star=(1.3, 1.3), name="soft silicone, ~Shore 30A (E* 1.3 MPa)"),
    Material(E_star=(2.4, 2.4), name="PDMS Sylgard 184 10:1 (E* 2.4 MPa)"),
    Material(E_star=(7.0, 7.0), name="stiff silicone, ~Shore 70A (E* 7 MPa)"),
    Material(E_star=(5.5, 5.5), tau0=(0.275, 0.275), B=(0.25, 0.25), name="box centre (E* 5.5, τ0 0.275, B 0.25)"),
)}


def from_flags(E_star: str | None = None, tau0: str | None = None, B: str | None = None) -> Material:
    """The command line's --E-star/--tau0/--B (each a value or low:high in θ's units, or None: free)."""
    values = {f: (None if text is None else parse_range(text, f)) for f, text in
              (("E_star", E_star), ("tau0", tau0), ("B", B))}
    return Material(**values)
