"""What every design engine speaks: Target, Design, Progress. No Qt.

An engine is a job (studio.jobs): a generator function `engine(target, ..., control) ->
Iterator[Progress]`. It yields a Progress at least once per generation (≲ 100 ms apart), checks
`control` between yields, and returns (StopIteration.value) the final list of Designs, best
first. `studio.jobs.drive` runs it: in the foreground (CLI), a worker process or a GUI thread.
JobControl and Cancelled come from studio.jobs (re-exported here). Nothing here imports Qt or torch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.design import load_range
from studio.design.material import FREE, Material, MaterialError
from studio.errors import StudioError
from studio.jobs import Cancelled, JobControl  # noqa: F401  (the job protocol, re-exported for engines)
from studio.physics.realize import strain_fast
from studio.physics import (
    HERTZ_LIMIT,
    LOAD_GRID_N,
    Asperities,
    realize,
    simulate,
    simulate_and_realize,
    smape,
    validate,
    validate_asperity_count,
)


VALIDITY_SETTINGS = ("feasibility", "penalty", "off")  # Target.validity: the two constraint modes, or none


class TargetError(StudioError, ValueError):
    """A target law that cannot be designed for (wrong length, NaN, negative, all masked)."""


@dataclass(frozen=True)
class Target:
    """A friction law to design for, on the 128-point load grid P_max·j/128.

    friction_N: (128,) target F [N] (extrapolated where mask is False, for the models' condition).
    mask: (128,) True where the user specified the law; errors use only these points.
    N: asperity count the designs must have. source/note: provenance for files.
    max_load_N: P_max, the largest load of the grid (10 N, the canonical range, unless the target
    spans another; studio.design.load_range maps it to the canonical problem).
    material: the user's material (studio.design.material.Material: E*, τ0, B fixed, bounded or free);
    every engine keeps its designs within it (issue 21). Default: free (the design box).
    validity: small-strain validity (d/R ≤ HERTZ_LIMIT at the largest load) as a constraint of the
    search: "feasibility" (the default: a valid design always ranks before an invalid one), "penalty"
    (an invalid one pays its relative excess) or "off" (`--allow-invalid`: not a constraint, only the
    final order prefers a valid design within 0.1 % of the best).
    """

    friction_N: np.ndarray
    N: int
    mask: np.ndarray | None = None
    source: str = "sketch"
    note: str = ""
    max_load_N: float = load_range.CANONICAL_MAX_LOAD_N
    material: Material = FREE
    validity: str = "feasibility"

    def __post_init__(self):
        object.__setattr__(self, "max_load_N", load_range.check_max_load(self.max_load_N, "target"))
        if self.material is None:
            object.__setattr__(self, "material", FREE)
        if not isinstance(self.material, Material):
            raise MaterialError(f"target material must be a studio.design.material.Material, got {self.material!r}")
        if self.validity not in VALIDITY_SETTINGS:
            raise TargetError(f"target validity {self.validity!r}: choose one of {', '.join(VALIDITY_SETTINGS)}")
        grid = self.load_N
        f = np.asarray(self.friction_N, dtype=np.float64)
        if f.shape != grid.shape:
            raise TargetError(f"target law needs {grid.size} values on the load grid, got shape {f.shape}")
        bad = np.flatnonzero(~np.isfinite(f))
        if bad.size:
            raise TargetError(f"target law is not finite at load {grid[bad[0]]:g} N (grid point {bad[0] + 1})")
        neg = np.flatnonzero(f <= 0)
        if neg.size:
            raise TargetError(f"target friction must be positive; it is {f[neg[0]]:g} N at load "
                              f"{grid[neg[0]]:g} N (grid point {neg[0] + 1})")
        mask = np.ones(f.shape, bool) if self.mask is None else np.asarray(self.mask, dtype=bool)
        if mask.shape != f.shape:
            raise TargetError(f"target mask has shape {mask.shape}, expected {f.shape}")
        if not mask.any():
            raise TargetError("target mask excludes every load: nothing to design for")
        object.__setattr__(self, "friction_N", f)
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "N", validate_asperity_count(self.N))

    @property
    def load_N(self) -> np.ndarray:
        """The load grid P_max·j/128 [N]."""
        return load_range.load_grid(self.max_load_N)

    @property
    def strain_limit(self) -> float | None:
        """HERTZ_LIMIT when small-strain validity is a constraint of the search, else None."""
        return None if self.validity == "off" else HERTZ_LIMIT

    def error(self, law) -> float:
        """Functional error [%]: sMAPE of a simulated law against this target on the masked points."""
        return float(smape(np.asarray(law, dtype=np.float64), self.friction_N, mask=self.mask))


@dataclass
class Design:
    """A design (θ, N, seed) with its realised asperities, simulated law and error.

    θ is canonical (the 10 N problem's, inside the design box); max_load_N (P_max) is the load
    range of everything else it stores: asperities, law, band and layout are real, i.e. scaled by
    studio.design.load_range (lengths ×√(P_max/10 N), forces ×P_max/10 N).
    layout: the fabrication layout read with it (a design file's, studio.physics.layout.Layout);
    None: studio.design.details uses the layout rules' (layout_for) when needed.
    validation: a boundary-element check of that layout (studio.design.validation.Validation), read
    from a design file or made in the studio; written with the design when it matches the layout.
    """

    theta: np.ndarray
    N: int
    seed: int
    method: str = ""
    model: str = ""
    elapsed_s: float = 0.0
    error_percent: float | None = None
    name: str = ""
    asperities: Asperities | None = None
    friction_N: np.ndarray | None = None
    band_p05: np.ndarray | None = None
    band_p95: np.ndarray | None = None
    layout: object | None = None  # studio.physics.layout.Layout (not imported here: physics.layout is heavier)
    max_load_N: float = load_range.CANONICAL_MAX_LOAD_N
    validation: object | None = None  # studio.design.validation.Validation of `layout`

    def __post_init__(self):
        self.theta = validate(self.theta)
        self.N = validate_asperity_count(self.N)
        self.seed = int(self.seed)
        self.max_load_N = load_range.check_max_load(self.max_load_N, "design")

    @classmethod
    def evaluate(cls, theta, N: int, seed: int, target: Target | None = None, **kw) -> "Design":
        """Realise and simulate with the exact (float64) model at the target's load range (10 N without
        one, or `max_load_N=`); score against `target` if given."""
        return cls.evaluate_many([theta], N, [seed], target, **kw)[0]

    @classmethod
    def evaluate_many(cls, thetas, N: int, seeds, target: Target | None = None, **kw) -> list["Design"]:
        """`evaluate` for several designs of one N at once (one compiled call, not one per design), at the
        target's load range (10 N without one, or `max_load_N=`)."""
        max_load = kw.pop("max_load_N", target.max_load_N if target is not None else load_range.CANONICAL_MAX_LOAD_N)
        designs = [cls(theta=t, N=N, seed=s, **kw) for t, s in zip(thetas, seeds)]
        if not designs:
            return []
        theta = np.stack([d.theta for d in designs])
        seed = np.array([d.seed for d in designs])
        laws, asperities = simulate_and_realize(theta, designs[0].N, seed)
        out = []
        for d, asp, law in zip(designs, asperities, laws):
            d.asperities, d.friction_N = asp, law
            d = load_range.at_load_range(d, max_load)
            if target is not None:
                d.error_percent = target.error(d.friction_N)
            out.append(d)
        return out

    @property
    def load_N(self) -> np.ndarray:
        """The load grid of its law, P_max·j/128 [N]."""
        return load_range.load_grid(self.max_load_N)

    def real_asperities(self) -> Asperities:
        """Its asperities at its load range (the stored ones, else realised and scaled)."""
        if self.asperities is not None:
            return self.asperities
        return load_range.scale_asperities(realize(self.theta, self.N, self.seed),
                                           load_range.length_scale(self.max_load_N))

    def real_law(self) -> np.ndarray:
        """Its friction law [N] on its grid (the stored one, else simulated and scaled)."""
        if self.friction_N is not None:
            return self.friction_N
        return simulate(self.theta, self.N, self.seed) * load_range.force_scale(self.max_load_N)

    @property
    def max_strain(self) -> float:
        """The largest d/R of its contacts at its largest load (small strain: ≤ 0.25), of its realisation
        (θ, N, seed): studio.physics.hertz_strain on its real geometry gives the same value."""
        cached = self.known_strain  # the file writer, the CLI, the ranking and the board all ask
        if cached is not None:
            return cached
        # The canonical design's value (d/R is the same at every load range: lengths ×λ, loads ×λ²), from the
        # ranking's own program (compiled once per width bucket; hertz_strain compiles once per N, seconds)
        value = float(strain_fast(self.theta[None], self.N, self.seed)[0])
        self.__dict__["_strain"] = (self._strain_key(), value)
        return value

    def _strain_key(self):
        # (θ, N, seed, P_max) determine the realisation; the value travels with a pickled design (its __dict__)
        return (self.theta.tobytes(), self.N, self.seed, self.max_load_N)

    @property
    def known_strain(self) -> float | None:
        """max_strain if it was computed already for this (θ, N, seed, P_max), else None (no physics)."""
        cached = self.__dict__.get("_strain")
        return cached[1] if cached is not None and cached[0] == self._strain_key() else None

    @property
    def hertz_valid(self) -> bool:
        """Every contact within small-strain Hertz theory (d/R ≤ 0.25) up to its largest load, on the real geometry."""
        return self.max_strain <= HERTZ_LIMIT

    def fabrication_warnings(self) -> list[str]:
        """Radii or height relief outside a sensible fabrication range (load_range.FABRICATION_RANGE_MM)."""
        a = self.real_asperities()
        return load_range.fabrication_warnings(a.height_mm, a.radius_mm)

    def friction_coefficient(self, load_N: float) -> float:
        """μ = F(P)/P of the design's static law at the load `load_N`, within its load range (linear between
        the law's grid points): the μ0 the Dynamics workspace gives the interface's rate-and-state response."""
        grid = self.load_N
        if not grid[0] <= load_N <= grid[-1]:
            raise ValueError(f"load {load_N:g} N is outside the law's range {grid[0]:g}–{grid[-1]:g} N")
        return float(np.interp(load_N, grid, self.real_law())) / load_N

    def residual_percent(self, target: Target) -> np.ndarray:
        """Per-load relative residual (design − target)/target [%], NaN where the target is masked out."""
        law = self.real_law()
        r = 100.0 * (law - target.friction_N) / target.friction_N
        return np.where(target.mask, r, np.nan)


@dataclass
class Progress:
    """One progress report of a running engine (plain data; the GUI turns it into a signal)."""

    iteration: int
    evaluations: int
    best_error: float
    best: Design | None
    elapsed_s: float
    fraction: float = 0.0  # 0..1 of the time/evaluation budget
    message: str = ""
