"""The search engines' code: four generator functions and the bookkeeping they share.

They are declared (name, options, models, help) and called through studio.design.engines; see
that module and docs/design-engines.md for the contract. Each is a job (studio.jobs): it yields
`Progress` about every 0.1 s, calls `control.checkpoint()` between generations (so a job pauses and
cancels within one generation) and returns `list[Design]`, best first, each scored with the exact
float64 model (`Design.evaluate`). With `max_evaluations` the engine stops (and switches phases) by
evaluation count instead of by clock, so a given seed gives the same designs on any machine and in
concurrent jobs; with a time budget alone the result is the best of the same deterministic sequence
of iterates that fitted in the time.

    candidates   K diverse CVAE samples ranked by re-simulated error (no model: a Sobol screen of the box)
    vae_cmaes    CMA-ES over the VAE latent — the published baseline (no model: CMA-ES in θ)
    cmaes        CMA-ES in the normalised θ box [0, 1]^23 with bounds
    hybrid       model proposals → gradient polish → CMA-ES → polish over several realisation seeds
                 (proposer="janus": the janus engine's latent search proposes, studio.design.janus)

Models (studio.models) are imported lazily and are optional: without them the model-based engines
fall back to θ-space search and say so in their Progress messages. Tests and callers may pass
`generator=` (an object with `sample(law_N, N, k, seed) -> θ (k, 23)`) or `vae=` (with
`decode(z) -> θ` and `latent_dim`) or `janus=` (a studio.models.janus.JanusModel) to use a specific model.
"""
from __future__ import annotations

import contextlib
import threading
import time
import warnings
from typing import Callable, Iterator

import numpy as np

from studio.design.core import Design, JobControl, Progress, Target
from studio.design.objective import BatchObjective, polish
from studio.errors import StudioError
from studio.physics import HERTZ_LIMIT, THETA_SIZE, canonical, from_unit, to_unit
from studio.physics.ranking import FEASIBILITY_PENALTY, preferred_order
from studio.physics.realize import FAST_BLOCK

PROGRESS_INTERVAL_S = 0.1
POPULATION = FAST_BLOCK  # CMA-ES population = rows per compiled float32 call: one program per asperity bucket
OUT_OF_REACH_PERCENT = 5.0  # a load whose residual exceeds this is reported as out of reach
DUPLICATE_DISTANCE = 0.02  # RMS distance in the unit box of canonical θ below which two designs are one
ADAPT_CANDIDATES = 3  # candidates polished when the material is given or no proposal is small-strain valid
ADAPT_STEPS = 8  # trust-region steps each (within the budget)


class _NoModel(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Shared bookkeeping of one job


class _Job:
    """Clock (paused time excluded), budget, best-so-far archive and throttled Progress for one engine run."""

    def __init__(self, target: Target, method: str, *, seed: int, time_budget_s: float, control: JobControl | None,
                 max_evaluations: int | None, model: str = ""):
        self.target = target
        self.method = method
        self.model = model
        self.seed = int(seed)
        self.time_budget_s = float(time_budget_s)
        self.max_evaluations = None if max_evaluations is None else int(max_evaluations)
        self.control = control
        self.objective = BatchObjective(target, batch=POPULATION)
        self.extra_evaluations = 0
        self.iteration = 0
        self.messages: list[str] = []
        self._t0 = time.perf_counter()
        self._paused_s = 0.0
        self._last_yield = -1.0
        self._archive: list[tuple[float, int, np.ndarray]] = []  # (approx error %, seed, unit θ)
        self._reported: Design | None = None
        self._reported_key = None
        self.realisation_seeds = realisation_seeds(self.seed, 8)
        self.rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xC3A]))

    # -- time and budget
    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self._t0 - self._paused_s

    @property
    def evaluations(self) -> int:
        return self.objective.evaluations + self.extra_evaluations

    @property
    def fraction(self) -> float:
        if self.max_evaluations is not None:
            return min(1.0, self.evaluations / self.max_evaluations)
        return min(1.0, self.elapsed_s / self.time_budget_s) if self.time_budget_s > 0 else 1.0

    def over(self, fraction: float = 1.0) -> bool:
        """True once `fraction` of the budget is spent (the clock always caps a job, even with max_evaluations)."""
        if self.max_evaluations is not None and self.elapsed_s > max(self.time_budget_s, 1e-9) * 20:
            return True  # a safety cap for evaluation budgets far too large for the clock
        return self.fraction >= fraction

    def checkpoint(self) -> None:
        if self.control is None:
            return
        t = time.perf_counter()
        self.control.checkpoint()
        self._paused_s += time.perf_counter() - t

    @contextlib.contextmanager
    def off_the_clock(self):
        """Time spent inside (loading a model) is not charged to the budget, like paused time."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self._paused_s += time.perf_counter() - t

    # -- archive
    def offer(self, unit: np.ndarray, seed: int, error: float) -> None:
        """Record a design found by the search with its float32 error estimate [%]."""
        self.offer_many(np.asarray(unit)[None], seed, [error])

    def offer_many(self, units: np.ndarray, seed: int, errors: np.ndarray) -> None:
        """`offer` for a population under one realisation seed (one sort, not one per design)."""
        units = self.objective.project(units)  # in the box and the user's material ranges
        self._archive.extend((float(e), int(seed), u) for u, e in zip(units, errors))
        self._archive.sort(key=lambda e: e[0])
        del self._archive[256:]

    @property
    def best(self) -> tuple[float, int, np.ndarray]:
        return self._archive[0]

    def best_design(self) -> Design:
        err, seed, unit = self.best
        key = (seed, unit.tobytes())
        if key != self._reported_key:
            self._reported = self._design(unit, seed)
            self._reported_key = key
        return self._reported

    def _design(self, unit, seed) -> Design:
        # Not counted in `evaluations`: reporting happens on the clock, and the budget must not depend on it.
        return Design.evaluate(from_unit(unit), self.target.N, seed, self.target, method=self.method,
                               model=self.model, elapsed_s=self.elapsed_s)

    # -- progress
    def progress(self, message: str = "", force: bool = False) -> Progress | None:
        """A Progress if PROGRESS_INTERVAL_S passed since the last one (or `force`), else None."""
        now = self.elapsed_s
        if not force and now - self._last_yield < PROGRESS_INTERVAL_S:
            return None
        self._last_yield = now
        best = self.best_design() if self._archive else None
        return Progress(iteration=self.iteration, evaluations=self.evaluations,
                        best_error=best.error_percent if best else float("nan"), best=best,
                        elapsed_s=now, fraction=self.fraction, message=message)

    def finish(self, count: int) -> tuple[list[Design], Progress]:
        """Exact designs for the best `count` distinct archive entries, best first, and the final Progress."""
        # Diverse first (on the float32 ranking), with spares in case the exact errors reorder them.
        chosen = self.distinct(max(count, 1) + 2)
        designs = Design.evaluate_many([from_unit(u) for u, _ in chosen], self.target.N, [s for _, s in chosen],
                                       self.target, method=self.method, model=self.model, elapsed_s=self.elapsed_s)
        designs = ordered(designs, self.target)
        designs = designs[:max(count, 1)]
        for i, d in enumerate(designs):
            d.name = f"{self.method}-{i + 1}"
            d.elapsed_s = self.elapsed_s
        best = designs[0]
        text = "; ".join(self.messages + [reach_report(best, self.target), validity_report(best, self.target)])
        final = Progress(iteration=self.iteration, evaluations=self.evaluations, best_error=best.error_percent,
                         best=best, elapsed_s=self.elapsed_s, fraction=1.0, message=text)
        return designs, final


    def distinct(self, count: int) -> list[tuple[np.ndarray, int]]:
        """The best `count` archive entries (unit θ, seed) whose designs differ (canonical RMS distance)."""
        pairs: list[tuple[np.ndarray, int]] = []
        canon = np.empty((0, THETA_SIZE))
        for _, seed, unit in self._archive:
            c = _canonical_unit(unit)
            if canon.shape[0] and _rms_distances(canon, c).min() < DUPLICATE_DISTANCE:
                continue
            pairs.append((unit, seed))
            canon = np.vstack([canon, c])
            if len(pairs) >= count:
                break
        return pairs


def realisation_seeds(job_seed: int, count: int) -> list[int]:
    """The realisation seeds a job tries, deterministic in the job seed and distinct per job seed
    (a longer list starts with the shorter one: the janus engine tries more than the others' 8)."""
    return [int(s) for s in np.random.SeedSequence([int(job_seed), 0xD5]).generate_state(count, dtype=np.uint32)]


def _canonical_unit(unit: np.ndarray) -> np.ndarray:
    """A unit-box design with its components in canonical order (equal designs → equal vectors)."""
    return to_unit(canonical(from_unit(unit)))


def _rms_distances(canon_rows: np.ndarray, canon: np.ndarray) -> np.ndarray:
    """RMS distances in the unit box from canonical designs (rows) to one canonical design."""
    return np.sqrt(np.mean((np.atleast_2d(canon_rows) - canon) ** 2, axis=-1))


def ordered(designs: list[Design], target: Target) -> list[Design]:
    """Exact designs best first, the one way (studio.physics.ranking.preferred_order): by error, an
    invalid design never ahead of a valid one within 0.1 %, and with validity as a constraint (the
    default) every valid one ahead of every invalid one."""
    if not designs:
        return []
    order = preferred_order([d.error_percent for d in designs], [d.hertz_valid for d in designs],
                            require_valid=target.strain_limit is not None)
    return [designs[i] for i in order]


def validity_report(design: Design, target: Target) -> str:
    """One line on small-strain validity of the best design: valid, or by how much it is not."""
    strain = design.max_strain
    if strain <= HERTZ_LIMIT:
        return f"small-strain valid (largest d/R {strain:.3g} ≤ {HERTZ_LIMIT:g} at the largest load)"
    why = ("no valid design found in the budget" if target.strain_limit is not None
           else "validity not required (--allow-invalid)")
    return (f"INVALID for small-strain Hertz theory: largest d/R {strain:.3g} > {HERTZ_LIMIT:g} at the largest load "
            f"({100 * (strain / HERTZ_LIMIT - 1):.0f} % over, {why})")


def valid_mu_floor(target: Target) -> float:
    """The smallest μ = F/P at the largest load of any small-strain-valid design in the target's material.

    Per contact P_i = (4/3)E*·R²·(d/R)^{3/2} and its area R·d = (3P_i/4E*)·(d/R)^{-1/2}, so d/R ≤ 0.25 means
    R·d ≥ 1.5·P_i/E* and F = Σ τ0·π·R·d + B·P ≥ (1.5π·τ0/E* + B)·P (lowest τ0 and B, highest E* of the ranges)."""
    m = target.material
    return 1.5 * np.pi * m.range("tau0")[0] / m.range("E_star")[1] * np.sqrt(0.25 / HERTZ_LIMIT) + m.range("B")[0]


def reach_report(design: Design, target: Target, limit_percent: float = OUT_OF_REACH_PERCENT) -> str:
    """One line saying where the design misses the target by more than `limit_percent` (per-load residual),
    how many loads were specified and scored, and whether a miss is the design box's or the target data's
    own roughness (the design follows the target's smooth trend there: studio.design.targets.target_trend)."""
    r = design.residual_percent(target)
    load = target.load_N  # the target's own grid (any load range)
    bad = np.abs(np.nan_to_num(r)) > limit_percent
    specified, grid = int(target.mask.sum()), int(target.mask.size)
    scored = f"{specified} of {grid} grid loads specified and scored" if specified < grid else \
        f"all {grid} grid loads specified and scored"
    if not bad.any():
        where = "at every load" if specified == grid else f"at each of the {specified} specified loads"
        return f"within {limit_percent:g} % of the target {where} ({scored}; sMAPE {design.error_percent:.3g} %)"
    from studio.design.targets import target_trend

    trend = target_trend(target)
    follows_trend = np.abs(np.nan_to_num(100.0 * (design.real_law() - trend) / trend)) <= limit_percent
    data = bad & follows_trend
    box = bad & ~data
    parts = []
    if box.any() and not data.any():
        where = "the design box" if target.material.free else \
            f"the design box with the given material ({target.material.describe()})"
        why = ""
        mu_target = target.friction_N[-1] / target.load_N[-1]
        if target.strain_limit is not None and mu_target < valid_mu_floor(target):
            why = (f" — small-strain-valid designs in this material have μ ≥ {valid_mu_floor(target):.3g} at the "
                   f"largest load, the target asks {mu_target:.3g}")
        parts.append(f"out of reach of {where} by more than {limit_percent:g} % at loads "
                     + _load_ranges(box, r, load) + why)
    elif box.any():  # the search may have given these loads up to come closer to the rough points
        parts.append(f"misses the target by more than {limit_percent:g} % at loads {_load_ranges(box, r, load)} "
                     "where the target is smooth (out of the design box's reach, or traded for the rough points "
                     "below: smooth the record and design again to tell)")
    if data.any():
        rough = 100.0 * (target.friction_N - trend) / trend
        scatter = 1.4826 * float(np.nanmedian(np.abs(rough[target.mask])))
        spikes = data & (np.abs(np.nan_to_num(rough)) > max(5.0 * scatter, 10.0))
        kinds = [f"spikes in the target data near {_load_list(spikes, load)}"] if spikes.any() else []
        if scatter >= 1.0:
            kinds.append(f"noise: the target scatters ≈ {scatter:.2g} % about its own smooth trend")
        parts.append(f"misses the target by more than {limit_percent:g} % at loads {_load_ranges(data, r, load)} "
                     f"where the target itself is rough ({'; '.join(kinds) or 'a bump narrower than any law'}), "
                     f"while following the target's smooth trend within {limit_percent:g} %: the data is the "
                     "problem there, not the design box (smooth or clean the record)")
    return "; ".join(parts) + f" ({scored}; sMAPE {design.error_percent:.3g} %)"


def _runs(bad: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in `bad`."""
    edges = np.flatnonzero(np.diff(np.r_[0, bad.astype(np.int8), 0]))
    return [(int(i), int(j) - 1) for i, j in zip(edges[::2], edges[1::2])]


def _load_list(bad: np.ndarray, load: np.ndarray) -> str:
    """'a, b, c N': the middle load of each run of True in `bad`."""
    return ", ".join(f"{load[(i + j) // 2]:.3g}" for i, j in _runs(bad)) + " N"


def _load_ranges(bad: np.ndarray, r: np.ndarray, load: np.ndarray, most: int = 6) -> str:
    """'a–b N (worst ±x % at c N)' for each run of bad loads (a single load: 'a N (±x %)'), at most `most`."""
    ranges = []
    for j, k in _runs(bad):
        worst = j + int(np.nanargmax(np.abs(r[j:k + 1])))
        if j == k:
            ranges.append(f"{load[j]:.3g} N ({r[j]:+.1f} %)")
        else:
            ranges.append(f"{load[j]:.3g}–{load[k]:.3g} N (worst {r[worst]:+.1f} % at {load[worst]:.3g} N)")
    more = f" and {len(ranges) - most} more" if len(ranges) > most else ""
    return ", ".join(ranges[:most]) + more


# --------------------------------------------------------------------------------------------
# Models (optional, lazy)


_MODELS: dict[str, object] = {}  # the shipped models, loaded once per process (read-only afterwards)
_MODELS_LOCK = threading.Lock()
_LOADERS = {"generator": "load_generator", "vae": "load_vae", "janus": "load_janus"}  # model keyword → loader
_FALLBACKS = {"generator": ("CVAE", "searching the θ box instead"),
              "vae": ("VAE", "running CMA-ES in the θ box instead"),
              "janus": ("Janus model", "ranking a Sobol screen of the θ box instead")}


def _shipped(kind: str):
    """studio.models' shipped CVAE ('generator'), VAE ('vae') or Janus model ('janus'), cached; raises
    _NoModel when unavailable."""
    with _MODELS_LOCK:
        if kind not in _MODELS:
            try:
                from studio import models
                loader = getattr(models, _LOADERS[kind])
                _MODELS[kind] = loader()
            except (ImportError, AttributeError, OSError, StudioError) as exc:
                raise _NoModel(str(exc)) from None
        if _MODELS[kind] is None:
            raise _NoModel(f"no shipped {kind}")
        return _MODELS[kind]


def _load_model(kind: str, options: dict, job_messages: list[str]):
    """options[kind] ("generator": the CVAE, "vae", "janus"), else studio.models' shipped one, else None with a
    message."""
    if options.get(kind) is not None:
        return options[kind]
    try:
        return _shipped(kind)
    except _NoModel as exc:
        fallback = _FALLBACKS[kind]
        job_messages.append(f"{fallback[0]} unavailable ({exc}); {fallback[1]}")
        return None


def _model_name(model, default: str) -> str:
    """'<kind>-<name>' from a loaded model's card (e.g. 'cvae-compact'), else its `name` or `default`."""
    card = getattr(model, "card", None)
    if isinstance(card, dict):
        config = card.get("config", {})
        kind, name = card.get("kind") or config.get("kind"), card.get("name") or config.get("name")
        if kind and name:
            return f"{kind}-{name}"
    return str(getattr(model, "name", "") or default)


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _sample_units(generator, target: Target, k: int, seed: int) -> np.ndarray:
    theta = _as_numpy(generator.sample(target.friction_N, target.N, k, seed)).reshape(-1, THETA_SIZE)
    return np.clip(to_unit(theta), 0.0, 1.0)


def _box_screen(k: int, seed: int) -> np.ndarray:
    """k scrambled-Sobol points of the unit box (the model-free proposal)."""
    from scipy.stats import qmc
    return qmc.Sobol(THETA_SIZE, scramble=True, seed=np.random.default_rng(seed)).random(k)


# --------------------------------------------------------------------------------------------
# Search building blocks (generators yielding Progress, returning nothing; results go to the job archive)


# What cma imports at import time only for what the studio never calls: plots (matplotlib.pyplot,
# which SurfaceTopography brings into every install) and surrogate models (scipy.stats.kendalltau,
# for which cma has its own fallback). Together 0.8–2 s of every first design (python -X importtime).
_CMA_UNUSED_IMPORTS = ("matplotlib", "matplotlib.pyplot", "scipy.stats")


def _import_cma():
    """cma, without its plotting and surrogate-model imports, and without its warning about them.

    While cma is imported, modules in _CMA_UNUSED_IMPORTS that nobody has imported yet are
    marked absent (None in sys.modules), so cma takes the fallbacks it has for a missing
    matplotlib or scipy.stats; the marks are removed after, so later imports of them work."""
    import sys

    if "cma" in sys.modules:
        return sys.modules["cma"]
    hidden = [name for name in _CMA_UNUSED_IMPORTS if name not in sys.modules]
    try:
        for name in hidden:
            sys.modules[name] = None  # an import of it raises ImportError
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Could not import matplotlib", category=UserWarning)
            import cma
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return cma


def _cma(job: _Job, x0: np.ndarray, sigma0: float, realisation_seed: int, *, until: float,
         decode: Callable[[np.ndarray], np.ndarray] | None = None, bounds=(0.0, 1.0),
         inject: list[np.ndarray] = (), phase: str = "CMA-ES") -> Iterator[Progress]:
    """CMA-ES with this job's own random stream (never NumPy's global one) until `until` of the budget."""
    cma = _import_cma()

    opts = {"randn": lambda *shape: job.rng.standard_normal(shape), "seed": np.nan, "popsize": POPULATION,
            "verbose": -9, "verb_log": 0, "verb_disp": 0, "tolfun": 1e-12, "tolx": 1e-9,
            "bounds": list(bounds) if bounds is not None else [None, None]}
    es = cma.CMAEvolutionStrategy(np.asarray(x0, dtype=np.float64), float(sigma0), opts)
    if len(inject):
        es.inject([np.asarray(v, dtype=np.float64) for v in inject], force=True)
    first = True  # one generation always runs, so even a budget spent compiling yields a design
    while first or (not job.over(until) and not es.stop()):
        first = False
        job.checkpoint()
        X = np.asarray(es.ask())
        units = decode(X) if decode is not None else np.clip(X, 0.0, 1.0)
        err = job.objective.errors(units, realisation_seed)
        es.tell(list(X), err.tolist())
        i = int(np.argmin(err))
        job.offer(units[i], realisation_seed, err[i])
        job.iteration += 1
        p = job.progress(phase)
        if p is not None:
            yield p


def _polish(job: _Job, unit: np.ndarray, realisation_seed: int, *, until: float | None,
            max_steps: int = 40) -> Iterator[Progress]:
    """Gradient polish of one design (seed fixed); offers the result to the archive. `until`: the share of
    the budget at which it stops early; None: only `max_steps` (and the job control) end it, so the result
    does not depend on the clock (a first use compiles for seconds)."""
    gen = polish(job.target, unit, realisation_seed, max_steps=max_steps)
    used = 0
    best = np.asarray(unit, dtype=np.float64)
    while True:
        job.checkpoint()
        try:
            best, _, evaluations = next(gen)
        except StopIteration as stop:
            best = stop.value if stop.value is not None else best
            break
        job.extra_evaluations += evaluations - used
        used = evaluations
        job.iteration += 1
        if until is not None and job.over(until):
            gen.close()
            break
        p = job.progress("gradient polish")
        if p is not None:
            yield p
    err = job.objective.errors(best[None], realisation_seed)[0]
    job.offer(best, realisation_seed, err)


def _restart_until_over(job: _Job, count: int, run: Callable[[int], Iterator[Progress]]):
    """Run `run(0)`, `run(1)`, … (each a search from a fresh start) until the budget is spent; return the best."""
    restart = 0
    while True:
        yield from run(restart)
        restart += 1
        if job.over():
            break
    designs, final = job.finish(count)
    yield final
    return designs


def _offer_start(job: _Job, start: Design) -> None:
    """Put the design a job was asked to refine into its archive, scored like any other."""
    unit = _start_unit(job, start)
    job.offer(unit, start.seed, float(job.objective.errors(unit[None], start.seed)[0]))


def _start_unit(job: _Job, start: Design) -> np.ndarray:
    """A design to refine in the unit box, adapted to the target's material (Material.adapt)."""
    return job.objective.project(to_unit(job.target.material.adapt(start.theta)[0]))[0]


# --------------------------------------------------------------------------------------------
# Engines


def cmaes(target: Target, *, seed: int = 0, time_budget_s: float = 5.0, control: JobControl | None = None,
          max_evaluations: int | None = None, count: int = 4, sigma0: float = 0.3, start: Design | None = None,
          **options) -> Iterator[Progress]:
    """CMA-ES in the normalised θ box [0, 1]^23 with bounds; restarts from a fresh point when it stalls.

    With `start`, the first run is centred on that design (its θ and realisation seed) with a
    smaller step, so refining a candidate stays near it.
    """
    job = _Job(target, "cmaes", seed=seed, time_budget_s=time_budget_s, control=control,
               max_evaluations=max_evaluations)
    return (yield from _cma_in_theta(job, count, sigma0, start))


def _cma_in_theta(job: _Job, count: int, sigma0: float, start: Design | None = None):
    """The `cmaes` search for an existing job (also `vae_cmaes`'s fallback without a VAE)."""
    if start is not None:
        _offer_start(job, start)

    def run(restart):
        if restart == 0 and start is not None:
            x0, rs, sigma = _start_unit(job, start), start.seed, min(sigma0, 0.1)
        else:
            x0 = job.rng.random(THETA_SIZE) if restart else np.full(THETA_SIZE, 0.5)
            rs, sigma = job.realisation_seeds[restart % len(job.realisation_seeds)], sigma0
        return _cma(job, x0, sigma, rs, until=1.0, phase=f"CMA-ES in θ (run {restart + 1})")

    return (yield from _restart_until_over(job, count, run))


def vae_cmaes(target: Target, *, seed: int = 0, time_budget_s: float = 5.0, control: JobControl | None = None,
              max_evaluations: int | None = None, count: int = 4, sigma0: float = 1.0,
              **options) -> Iterator[Progress]:
    """CMA-ES over the unconditional VAE's latent space (the published baseline), decoding each population."""
    job = _Job(target, "vae_cmaes", seed=seed, time_budget_s=time_budget_s, control=control,
               max_evaluations=max_evaluations)
    with job.off_the_clock():
        vae = _load_model("vae", options, job.messages)
    if vae is None:  # the message says so; the designs keep this method's name
        return (yield from _cma_in_theta(job, count, sigma0=0.3))
    job.model = _model_name(vae, "vae")
    dim = int(vae.latent_dim)

    def decode(z):
        return np.clip(to_unit(_as_numpy(vae.decode(np.asarray(z, dtype=np.float32))).reshape(-1, THETA_SIZE)),
                       0.0, 1.0)

    def run(restart):
        z0 = np.zeros(dim) if restart == 0 else job.rng.standard_normal(dim) * 0.5
        rs = job.realisation_seeds[restart % len(job.realisation_seeds)]
        return _cma(job, z0, sigma0, rs, until=1.0, decode=decode, bounds=None,
                    phase=f"CMA-ES in the VAE latent (run {restart + 1})")

    return (yield from _restart_until_over(job, count, run))


def adapt_proposals(job: _Job, always: bool = False, deterministic: bool = False) -> Iterator[Progress]:
    """The proposal engines' last step (candidates, janus): a model proposes designs for its own (E*, τ0, B)
    over the whole θ box, and the exact rescaling (Material.adapt) and the τ0/B fit cannot follow every
    constraint, so with a given material, or when no ranked proposal is small-strain valid, or `always`
    (janus: its decoded designs are the head's expected laws, a few steps bring one realisation onto the
    target), the best ADAPT_CANDIDATES distinct ones get ADAPT_STEPS gradient steps on what is free (the
    polish carries the validity residual). `deterministic`: the steps are not cut by the clock (janus
    promises the same designs for the same target and seed; the steps are few)."""
    if not always and job.target.material.free and job.best[0] < FEASIBILITY_PENALTY:
        return
    chosen = job.distinct(ADAPT_CANDIDATES)
    for j, (unit, rs) in enumerate(chosen):
        yield from _polish(job, unit, rs, until=None if deterministic else (j + 1) / len(chosen),
                           max_steps=ADAPT_STEPS)


def candidates(target: Target, *, seed: int = 0, time_budget_s: float = 5.0, control: JobControl | None = None,
               max_evaluations: int | None = None, count: int = 16, oversample: int = 4,
               **options) -> Iterator[Progress]:
    """`count` diverse CVAE samples, re-simulated (float32 ranking, exact for the kept), best first.

    `count` × `oversample` proposals are ranked under each realisation seed the one way
    (studio.physics.ranking.rank, which `friction-studio evaluate` measures too): every proposal's τ0
    and B (which enter the law linearly) are replaced by the exact best pair for that realisation;
    measured on 500 unseen targets this halves the best-of-16 error of the CVAE (docs/models.md).

    Each proposal is tried with four realisation seeds (the time budget does not cut this short;
    `max_evaluations` does); near-duplicates (close canonical θ) are removed.
    Without a model the proposals are a scrambled-Sobol screen of the θ box, 16× larger.
    With a given material (target.material) the proposals are adapted to it (Material.adapt, τ0 and B
    fitted within it) and the best ADAPT_CANDIDATES get ADAPT_STEPS gradient steps on what is free, within
    the budget; so do they when no proposal is small-strain valid.
    """
    messages: list[str] = []
    generator = _load_model("generator", options, messages)
    count = max(1, int(count))
    proposals = count * max(1, int(oversample))
    # Ranked POPULATION rows per call, the other engines' and the spread band's program (measured:
    # 256 rows in blocks of 16 take ~2.5 ms more than in blocks of 64; one program fewer to compile).
    job = _Job(target, "candidates", seed=seed, time_budget_s=time_budget_s, control=control,
               max_evaluations=max_evaluations, model=_model_name(generator, "cvae") if generator else "")
    job.messages.extend(messages)
    units = _sample_units(generator, target, proposals, job.seed) if generator is not None \
        else _box_screen(proposals * 16, job.seed)
    for i, rs in enumerate(job.realisation_seeds[:4]):
        job.checkpoint()
        fitted, err = job.objective.rank(units, rs)
        job.offer_many(fitted, rs, err)
        job.iteration += 1
        p = job.progress("ranking proposals", force=i == 0)
        if p is not None:
            yield p
        # Only an evaluation budget cuts the ranking short: by the clock, the first seed's call can
        # take the whole budget compiling (a first launch: 5 s) and the other three take ~10 ms each.
        if job.max_evaluations is not None and job.over():
            break
    # The geometry adapts to a given material: the model proposes designs for its own (E*, τ0, B), and
    # the exact rescaling (Material.adapt) and the τ0/B fit cannot follow every constraint, so the best
    # few distinct candidates get a few gradient steps on what is free (also when no proposal is valid).
    yield from adapt_proposals(job)
    designs, final = job.finish(count)
    yield final
    return designs


def hybrid(target: Target, *, seed: int = 0, time_budget_s: float = 5.0, control: JobControl | None = None,
           max_evaluations: int | None = None, count: int = 4, proposals: int = 64, starts: int = 6,
           seeds_tried: int = 3, start: Design | None = None, proposer: str = "cvae",
           **options) -> Iterator[Progress]:
    """Model proposals → multi-start gradient polish → CMA-ES around the best → polish under other seeds.

    Phases by fraction of the budget: proposals ranked (≈0); the best `starts` proposals each polished
    briefly (to 0.35: the polish is strong locally, the proposals pick the basin); CMA-ES from the best
    with the runners-up injected (to 0.5: it also moves the mixture weights, which carry no gradient);
    the best polished under `seeds_tried` realisation seeds (to 0.75: the seed is part of the design);
    then alternating long polish and short local CMA-ES on the best until the budget is spent.
    With `start` (a design to refine), that design is polished first, under its own seed.
    With `proposer="janus"` (the `hybrid_janus` engine) the proposals are the janus engine's search
    (studio.design.janus: latent descent, decoded designs ranked under 16 realisation seeds), and the
    polish starts from the best distinct (design, seed) pairs it found.
    """
    if proposer not in _PROPOSERS:
        raise StudioError(f"unknown hybrid proposer {proposer!r}; choose one of {', '.join(_PROPOSERS)}")
    kind = _PROPOSERS[proposer]
    messages: list[str] = []
    job = _Job(target, "hybrid", seed=seed, time_budget_s=time_budget_s, control=control,
               max_evaluations=max_evaluations)
    with job.off_the_clock():  # the budget is search time (a fresh worker imports torch here)
        generator = _load_model(kind, options, messages)
    job.model = _model_name(generator, proposer) if generator else ""
    job.messages.extend(messages)
    seeds = job.realisation_seeds[:max(1, int(seeds_tried))]
    rs0 = seeds[0]

    # 1. proposals: ranked under the first realisation seed (janus: its search, under 16 seeds)
    if proposer == "janus":
        from studio.design.janus import search_latent

        yield from search_latent(job, generator, starts=16, iterations=10, seeds_tried=16)
        pairs = job.distinct(max(1, int(starts)))
    else:
        units = _sample_units(generator, target, proposals, job.seed) if generator is not None \
            else _box_screen(proposals * 4, job.seed)
        units, err = job.objective.rank(units, rs0)
        order = np.argsort(err)
        for i in order[:8]:
            job.offer(units[i], rs0, err[i])
        pairs = [(units[i], rs0) for i in order[:max(1, int(starts))]]
    p = job.progress("ranking proposals", force=True)
    if p is not None:
        yield p

    # 2. multi-start polish: the start design (if any), then each of the best proposals
    if start is not None:
        _offer_start(job, start)
        yield from _polish(job, _start_unit(job, start), start.seed, until=0.1, max_steps=15)
    for j, (unit, rs) in enumerate(pairs):
        yield from _polish(job, unit, rs, until=0.35 * (j + 1) / len(pairs), max_steps=15)

    # 3. CMA-ES from the best so far, the runners-up injected
    _, best_seed, best_unit = job.best
    runners = [u for _, s, u in job._archive[1:4]]
    yield from _cma(job, best_unit, 0.05, best_seed, until=0.5, inject=runners, phase="CMA-ES around the best")

    # 4. the best polished under other realisation seeds (the seed is part of the design)
    _, best_seed, best_unit = job.best
    for j, rs in enumerate(s for s in seeds if s != best_seed):
        yield from _polish(job, best_unit, rs, until=0.5 + 0.25 * (j + 1) / max(1, len(seeds) - 1), max_steps=20)

    # 5. alternate a long polish and a short local CMA-ES (which moves the weights) on the best
    round_ = 0
    while not job.over():
        _, best_seed, best_unit = job.best
        yield from _polish(job, best_unit, best_seed, until=min(1.0, job.fraction + 0.1), max_steps=60)
        _, best_seed, best_unit = job.best
        yield from _cma(job, best_unit, 0.02, best_seed, until=min(1.0, job.fraction + 0.05),
                        phase=f"local CMA-ES (round {round_ + 1})")
        round_ += 1
    designs, final = job.finish(count)
    yield final
    return designs


_PROPOSERS = {"cvae": "generator", "janus": "janus"}  # hybrid's proposer → the model it loads


def compile_refinement(target: Target) -> None:
    """Load the shipped models and compile what a refinement job runs for the target's N bucket.

    Each program (population ranking, exact evaluation, polish residual and Jacobian, per bucket
    width) compiles once per process, so a job worker process (studio.design.processes) is asked
    to do this while it waits, and its first job then starts without seconds of loading and
    tracing. It ranks and scores the centre of the box and takes one polish step from it: the
    engines' own code paths.
    """
    for kind in ("generator", "vae"):
        _load_model(kind, {}, [])  # a missing model only means the engines fall back, as they say
    start = np.full(THETA_SIZE, 0.5)
    BatchObjective(target, batch=POPULATION).errors(start[None], 0)
    Design.evaluate(from_unit(start), target.N, 0, target)  # what every Progress's best goes through
    gen = polish(target, start, 0, max_steps=1, chunk=1)
    for _ in gen:
        break
    gen.close()
