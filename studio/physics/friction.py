"""Asperities + material → friction law F(P) on the load grid (spec/physics.md §1–2).

Units: heights, radii and indentations in mm, moduli and strengths in MPa,
forces in N (MPa · mm² = N, so no conversion factors appear).

Solver. For each load P_j we need the flat position g_j with Σ_i c_i d_i^{3/2} = P_j,
c_i = 4/3 E* sqrt(R_i), d_i = max(0, h_i − g). We solve φ(g) = P(g)^{2/3} = P_j^{2/3}
instead: φ is the 3/2-norm of the vector (c_i^{2/3} d_i), hence convex, decreasing and
nearly linear in g (exactly linear for one asperity). One pass evaluates φ at sorted sample
points (the asperity heights themselves, i.e. the contact onsets, plus a few depths), which
brackets every load between two samples by binary search; a few bracketed secant steps
(Anderson–Björck) then converge superlinearly inside the bracket, and a last pass gives the
contact area. See _solve.

Gradients. The solver runs under stop_gradient; custom JVPs then give g the
implicit-function derivative −(∂P/∂x)/(∂P/∂g) of the load balance P(g) = P_j, and the
contact area its derivative in h, R and g, so jax.grad works through the law.

Precision. Heights are shifted so the highest is 0 before solving, so float32 resolves
the small indentations of the first contacts relative to the summit, not the datum. The float64
reference needs JAX's 64-bit mode, which is process-wide: the entry points (the command line, the
studio, worker processes, the tests, the benchmarks) call `enable_float64()` once at start-up;
importing the physics changes nothing, and a physics call in 32-bit mode raises Float64Error.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from studio.errors import StudioError
from studio.physics.theta import B_IDX, TAU0_IDX, THETA_LOWER, THETA_UPPER

N_LOADS = 128
MAX_LOAD_N = 10.0
LOAD_GRID_N = MAX_LOAD_N * np.arange(1, N_LOADS + 1, dtype=np.float64) / N_LOADS

# Bracketed secant (Anderson–Björck) steps on φ after the sampled start. Measured
# (benchmarks/forward.py --steps-sweep 4096, 2026-12-02): 3 steps converge 100 % of random
# designs of the box at N = 16, 64, 128 and 99.8 % at N = 256 (only the 119 highest heights
# are samples there); the rest are redone. 40 leave float64 at ~1e-15.
FAST_ITERATIONS = 3
# Names the fast path's algorithm; datasets record it (studio.data's manifest) so shards simulated
# by different solvers are never mixed in one folder. Change it whenever the fast path's output can.
SOLVER = "2026-12-02: 128-point sample pass (depths, summit, heights; free slots split gaps), 3 Anderson-Bjorck steps"
REFERENCE_ITERATIONS = 40
_PAD_DEPTH_MM = 1.0e3  # padded asperities sit this far below the summit with zero stiffness
START_THRESHOLDS = 8   # geometric depths below the summit among the sample points
SAMPLE_POINTS = 128    # flat positions of the sample pass: thresholds, the summit, asperity heights
# A row is converged when the free last step is below this fraction of |g|. Measured (same
# sweep): rows passing at 1e-4 after ≥ 3 steps were within 5e-6 of float64, 1.8e-5 after 2;
# failing rows are redone with more steps (solve_with_fallback).
CONVERGENCE_TOL = {"float32": 1e-4, "float64": 1e-12}


class Float64Error(StudioError):
    """The physics was called with JAX in 32-bit mode (its float64 results would silently be float32)."""


def enable_float64() -> None:
    """Switch JAX to 64-bit mode for this process (the physics' float64 reference path needs it).

    Process-wide, so it is the entry points' decision, made once before any JAX array exists:
    studio.cli.main, the studio window, engine worker processes, tests/conftest.py, benchmarks/."""
    jax.config.update("jax_enable_x64", True)


def require_float64() -> None:
    """Raise Float64Error unless JAX is in 64-bit mode (checked by the physics' public calls)."""
    if not jax.config.jax_enable_x64:
        raise Float64Error("JAX is in 32-bit mode, so the physics' float64 results would be float32: call "
                           "studio.physics.enable_float64() once at start-up, before any JAX array is made")


def _sqrt_nonneg(d):
    """sqrt(d) for d ≥ 0 with a finite gradient at 0 (the offset is below round-off for any d > 0)."""
    return jnp.sqrt(d + jnp.finfo(d.dtype).tiny)


def _indentation(h, g):
    return jnp.maximum(h[None, :] - g[:, None], 0.0)


def _load_pass(h, c, R, g):
    """P(g) = Σ c d^{3/2} at each flat position, written (c·d)·sqrt(d): see _solve on why."""
    d = _indentation(h, g)
    return jnp.sum(c[None, :] * d * jnp.sqrt(d), axis=-1)


def _area_pass(h, c, R, g):
    """Σ R d at each flat position (max(·, 0) is a no-op that keeps XLA from rewriting it as a dot)."""
    d = _indentation(h, g)
    return jnp.sum(jnp.maximum(R[None, :] * d, 0.0), axis=-1)


def _two_thirds_power(x):
    """x^{2/3} for x ≥ 0 as exp(⅔·log x): on XLA-CPU 4.5× faster than x ** (2/3) over a
    (1024, 128) batch (0.14 vs 0.63 ms, measured), within 1e-6 relative for the solver's values."""
    return jnp.exp(jnp.log(x) * (2.0 / 3.0))


def _chord(a, fa, b, fb):
    """Root of the chord through (a, fa) and (b, fb), kept between them; b when the chord is flat."""
    den = fb - fa
    ok = den != 0
    x = b - fb * (b - a) / jnp.where(ok, den, 1.0)
    return jnp.where(ok, jnp.clip(x, jnp.minimum(a, b), jnp.maximum(a, b)), b)


def _sample_points(h, c, loads):
    """Sorted flat positions (descending) whose φ brackets every load: START_THRESHOLDS depths
    spaced geometrically below the summit down to where the top asperity alone would carry the
    largest load (so φ there ≥ every target), the summit itself (φ = 0), and the asperity
    heights, which are the kinks of φ: all of them when N ≤ SAMPLE_POINTS − START_THRESHOLDS − 1
    (119), else the 119 highest, where few asperities carry the load and each new contact bends
    φ most (a random 119 needed one more secant step for the same convergence at N = 256).
    When these are fewer than the pass's width (max(loads, SAMPLE_POINTS)), the free slots
    split the gaps between consecutive points evenly, the shallowest gaps first: the pass costs
    no more and every bracket is narrower (at N = 64, 68 % of rows converge in 2 steps instead
    of 29 %, and no row of the benchmark batch needs redoing after 3)."""
    dtype = h.dtype
    c_top = jnp.max(jnp.where(h == 0, c, 0.0))
    depth = (jnp.max(loads) / c_top) ** (2.0 / 3.0)
    width = max(loads.shape[0], SAMPLE_POINTS)
    k = min(h.shape[0], width - START_THRESHOLDS - 1)
    heights = h[:k] if k == h.shape[0] else _sort_descending_nonpositive(h)[:k]
    t = jnp.concatenate([-depth * jnp.geomspace(1.0, 1e-3, START_THRESHOLDS, dtype=dtype),
                         jnp.zeros((1,), dtype), heights])
    return _split_gaps(_sort_descending_nonpositive(t), width)


def _split_gaps(t, width):
    """t (sorted) with width − len(t) points added inside its gaps: every gap gets q evenly
    spaced points, the first r gaps one more (q, r static); the result stays sorted."""
    base = t.shape[0]  # ≥ 10: the depths, the summit and at least one height
    extra = width - base
    if extra <= 0:
        return t
    q, r = divmod(extra, base - 1)
    pieces = []
    for lo, hi, splits in ((0, r, q + 1), (r, base - 1, q)):
        if hi <= lo:
            continue
        a, b = t[lo:hi, None], t[lo + 1:hi + 1, None]
        frac = jnp.arange(splits + 1, dtype=t.dtype)[None, :] / (splits + 1)
        pieces.append((a + (b - a) * frac).reshape(-1))  # a itself, then `splits` points towards b
    pieces.append(t[-1:])
    return jnp.concatenate(pieces)


def _sort_descending_nonpositive(t):
    """t (all ≤ 0) sorted descending, as integers: the bit patterns of the non-negative floats −t
    order like the floats, and XLA-CPU sorts integers ~4× faster than floats (1.6 vs 6.6 ms for
    1024 × 73, measured), which made the float sort a quarter of the solver's time at N = 64."""
    itype = jnp.int64 if t.dtype == jnp.float64 else jnp.int32
    keys = jax.lax.bitcast_convert_type(-t + 0.0, itype)  # + 0.0 turns −0.0 into +0.0
    return -jax.lax.bitcast_convert_type(jnp.sort(keys), t.dtype)


def _solve(h, c, R, loads, iterations):
    """Flat positions g (M,) with P(g) = loads, and the real contact area Σ R_i d_i [mm²] there.

    h is shifted so max(h) = 0. Works on φ = P^{2/3} (convex, decreasing, nearly linear).
    1. Sample pass: φ at sorted sample points t (_sample_points); φ(t) is then ascending, so
       a binary search brackets each load between consecutive samples, and when every height
       is a sample the bracket lies between two consecutive contact onsets, where the contact
       set is fixed and φ is smooth.
    2. `iterations` bracketed secant steps (Anderson–Björck's modified regula falsi, superlinear
       and never leaving the bracket).
    3. Area pass at the chord root of the final bracket (a free last step).

    Every pass is one reduction over (points × asperities) in the body of one loop whose value
    is carried to the next iteration. Measured on XLA-CPU (docs/physics.md): a reduction fused
    into the element-wise code that consumes it, or one written Σ w·x (rewritten as a dot),
    runs 10–20× slower than a reduction kept on its own; carrying it as loop state keeps it so.
    """
    dtype = h.dtype
    m = loads.shape[0]
    t = _sample_points(h, c, loads)
    width = t.shape[0]
    y = jnp.concatenate([loads, jnp.full((width - m,), loads[-1], dtype)]) ** (2.0 / 3.0)
    last = iterations + 1

    def bracket(value, state):
        phi = _two_thirds_power(value)
        j = jnp.clip(jnp.searchsorted(phi, y, side="right"), 1, width - 1)
        return t[j], phi[j] - y, t[j - 1], phi[j - 1] - y, state[4]

    def update(value, state):
        a, fa, b, fb, x = state
        fx = _two_thirds_power(value) - y
        same = (fx < 0) == (fb < 0)
        scale = 1.0 - fx / jnp.where(fb == 0, -1.0, fb)
        scale = jnp.where(scale > 0, scale, 0.5)
        return jnp.where(same, a, b), jnp.where(same, fa * scale, fb), x, fx, x

    def body(i, carry):
        state, value = carry[:5], carry[5]
        # i = 0 updates from the zero start (harmless: its x is the samples, and i = 1 replaces
        # the state with the bracket); one cond instead of two nested ones.
        state = jax.lax.cond(i == 1, bracket, update, value, state)
        a, fa, b, fb, _ = state
        x = jnp.where(i == 0, t, _chord(a, fa, b, fb))
        value = jax.lax.cond(i == last, _area_pass, _load_pass, h, c, R, x)
        return (a, fa, b, fb, x, value)

    z = jnp.zeros_like(y)
    _, _, b, _, g, area = jax.lax.fori_loop(0, last + 1, body, (z, z, z, z, z, z))
    # Converged when the free last step (chord root − last evaluated point) is tiny relative to
    # the depth below the summit; the method's superlinear order leaves far less error than that.
    tol = CONVERGENCE_TOL[jnp.dtype(dtype).name]
    converged = jnp.all(jnp.abs(g - b)[:m] <= tol * jnp.abs(g[:m]))
    return g[:m], area[:m], converged


@jax.custom_jvp
def _balanced(g, h, c, loads):
    """Identity on the solved flat positions g; its derivative is the implicit one of P(g) = loads."""
    return g


@_balanced.defjvp
def _balanced_jvp(primals, tangents):
    g, h, c, loads = primals
    _, dh, dc, dloads = tangents
    d = _indentation(h, g)
    s = jnp.sqrt(d)
    dP_dtheta = jnp.sum(dc[None, :] * d * s + 1.5 * c[None, :] * s * dh[None, :], axis=-1)
    dP_dg = -1.5 * jnp.sum(c[None, :] * s, axis=-1)
    return g, (dloads - dP_dtheta) / dP_dg


@jax.custom_jvp
def _contact_area(area, h, R, g):
    """Σ R_i d_i(g) [mm²], its value computed by the solver loop; differentiable in h, R and g."""
    return area


@_contact_area.defjvp
def _contact_area_jvp(primals, tangents):
    area, h, R, g = primals
    _, dh, dR, dg = tangents
    d = _indentation(h, g)
    active = (d > 0).astype(d.dtype)
    tangent = jnp.sum(dR[None, :] * d + R[None, :] * active * (dh[None, :] - dg[:, None]), axis=-1)
    return area, tangent


def _friction_single(height_mm, radius_mm, mask, E_star, tau0, B, loads, iterations):
    dtype = height_mm.dtype
    mask = mask.astype(bool)
    top = jnp.max(jnp.where(mask, height_mm, -jnp.inf))
    h = jnp.where(mask, height_mm - top, -_PAD_DEPTH_MM).astype(dtype)
    R = jnp.where(mask, radius_mm, 0.0).astype(dtype)
    c = (4.0 / 3.0) * E_star * _sqrt_nonneg(R)
    loads = loads.astype(dtype)
    g, area, converged = jax.lax.stop_gradient(_solve(h, c, R, loads, iterations))
    g = _balanced(g, h, c, loads)
    area = _contact_area(area, h, R, g)
    return tau0 * jnp.pi * area + B * loads, converged


@partial(jax.jit, static_argnames=("iterations",))
def _friction_law_batch_jit(height_mm, radius_mm, mask, E_star, tau0, B, loads, iterations):
    fn = jax.vmap(_friction_single, in_axes=(0, 0, 0, 0, 0, 0, None, None))
    return fn(height_mm, radius_mm, mask, E_star, tau0, B, loads, iterations)


def _redo_rows(count: int) -> int:
    """Rows of a redo batch for `count` unconverged rows: the next power of two from 8, then
    multiples of 64, so few shapes compile and one stray row costs 8 rows, not 64."""
    if count <= 64:
        return max(8, 1 << (count - 1).bit_length())
    return -(-count // 64) * 64


def solve_with_fallback(batch_fn, args, iterations):
    """Run `batch_fn(*args, iterations)` → (laws, converged), then redo the rows that did not
    converge with more steps (twice as many, then REFERENCE_ITERATIONS), in a batch padded to
    few sizes (_redo_rows) so few shapes compile.

    A few designs (tight clusters of asperities far below a lone summit) need more secant
    steps than the fast path takes (about 0.2 % at N = 256, fewer at small N; see
    tests/test_physics.py); they are found by their last step size and redone.
    """
    laws, converged = batch_fn(*args, iterations)
    rows = np.arange(len(laws))
    merged = None
    # The row selection and the merge run in NumPy: eager JAX indexing compiles a new program
    # for every count of unconverged rows, and eager dispatch in job threads showed up in the
    # stack dumps of GUI event-loop stalls (benchmarks/gui.py with faulthandler).
    while iterations < REFERENCE_ITERATIONS:
        bad = rows[np.flatnonzero(~np.asarray(converged))]
        if bad.size == 0:
            break
        if merged is None:
            merged = np.array(laws)
        iterations = min(REFERENCE_ITERATIONS, 2 * iterations + 2)
        padded = np.resize(bad, _redo_rows(bad.size))  # pad by repeating bad rows
        sub = [jnp.asarray(np.asarray(x)[padded]) if getattr(x, "ndim", 0) >= 1 else x for x in args]
        redo, converged = batch_fn(*sub, iterations)
        merged[bad] = np.asarray(redo)[: bad.size]
        converged, rows = np.asarray(converged)[: bad.size], bad
    return laws if merged is None else jnp.asarray(merged)


def friction_law_batch(height_mm, radius_mm, mask, E_star, tau0, B, loads=None, *, iterations=FAST_ITERATIONS):
    """Friction laws (batch, M) [N] for padded asperity arrays (batch, width).

    Entries with mask False are padding and carry no load. The dtype of height_mm
    selects the path: float32 is the fast path, float64 the reference.
    """
    require_float64()
    loads = jnp.asarray(LOAD_GRID_N if loads is None else loads, dtype=jnp.asarray(height_mm).dtype)
    args = tuple(jnp.asarray(x) for x in (height_mm, radius_mm, mask, E_star, tau0, B))
    return solve_with_fallback(lambda *a: _friction_law_batch_jit(*a[:6], loads, a[6]), args, iterations)


@partial(jax.jit, static_argnames=("iterations",))
def _friction_law_jit(height_mm, radius_mm, E_star, tau0, B, loads, iterations):
    mask = jnp.ones(height_mm.shape, dtype=bool)
    return _friction_single(height_mm, radius_mm, mask, E_star, tau0, B, loads, iterations)[0]


def friction_law(height_mm, radius_mm, E_star_MPa, tau0_MPa, B, *, loads_N=None, dtype=jnp.float64,
                 iterations=None):
    """Friction force F [N] at each load of `loads_N` (default: the 128-point grid).

    Differentiable with respect to heights, radii and material (jax.grad works
    through it). float64 is the reference path, float32 the fast path.
    """
    require_float64()
    if iterations is None:
        # One curve costs little, and a traced call (jax.grad) cannot take the batch
        # path's fallback, so both precisions iterate to convergence here.
        iterations = REFERENCE_ITERATIONS
    loads = jnp.asarray(LOAD_GRID_N if loads_N is None else loads_N, dtype=dtype)
    h = jnp.asarray(height_mm, dtype=dtype)
    R = jnp.asarray(radius_mm, dtype=dtype)
    return _friction_law_jit(h, R, jnp.asarray(E_star_MPa, dtype), jnp.asarray(tau0_MPa, dtype),
                             jnp.asarray(B, dtype), loads, iterations)


@jax.jit
def _indentation_jit(height_mm, radius_mm, E_star, loads):
    top = jnp.max(height_mm)
    h = height_mm - top
    c = (4.0 / 3.0) * E_star * jnp.sqrt(radius_mm)
    g, _, _ = _solve(h, c, radius_mm, loads, REFERENCE_ITERATIONS)
    return _indentation(h, g)


def indentation_mm(height_mm, radius_mm, E_star_MPa, loads_N) -> np.ndarray:
    """Indentation d_i [mm] of every asperity at each load: shape (len(loads_N), N)."""
    require_float64()
    loads = jnp.atleast_1d(jnp.asarray(loads_N, dtype=jnp.float64))
    return np.asarray(_indentation_jit(jnp.asarray(height_mm, jnp.float64), jnp.asarray(radius_mm, jnp.float64),
                                       jnp.asarray(E_star_MPa, jnp.float64), loads))


def contact_radius_mm(height_mm, radius_mm, E_star_MPa, load_N: float) -> np.ndarray:
    """Hertz contact radius a_i = sqrt(R_i d_i) [mm] of every asperity at one load."""
    d = indentation_mm(height_mm, radius_mm, E_star_MPa, [load_N])[0]
    return np.sqrt(np.asarray(radius_mm, dtype=np.float64) * d)


HERTZ_LIMIT = 0.25  # d/R above which the contact radius exceeds half the tip radius


def hertz_strain(height_mm, radius_mm, E_star_MPa, load_N: float = MAX_LOAD_N) -> float:
    """Largest d_i/R_i at `load_N`; above HERTZ_LIMIT the design leaves Hertz's validity (spec §2)."""
    d = indentation_mm(height_mm, radius_mm, E_star_MPa, [load_N])[0]
    return float(np.max(d / np.asarray(radius_mm, dtype=np.float64)))


def _strain_single(height_mm, radius_mm, mask, E_star, load):
    """Largest d_i/R_i at one load (traceable, differentiable like the law: the flat's position through
    _balanced's implicit derivative); padded asperities (mask False) never touch."""
    return _strain_solved(height_mm, radius_mm, mask, E_star, load, REFERENCE_ITERATIONS)[0]


def _strain_solved(height_mm, radius_mm, mask, E_star, load, iterations):
    """(largest d_i/R_i at one load, converged) with `iterations` secant steps: the ranking's fast
    path takes FAST_ITERATIONS and redoes the rows that did not converge (solve_with_fallback), as
    the laws do; converged values agree with the reference to the solver's tolerance."""
    dtype = height_mm.dtype
    mask = mask.astype(bool)
    top = jnp.max(jnp.where(mask, height_mm, -jnp.inf))
    h = jnp.where(mask, height_mm - top, -_PAD_DEPTH_MM).astype(dtype)
    R = jnp.where(mask, radius_mm, 1.0).astype(dtype)
    c = jnp.where(mask, (4.0 / 3.0) * E_star * _sqrt_nonneg(R), 0.0)
    loads = jnp.reshape(load, (1,)).astype(dtype)
    g, _, converged = jax.lax.stop_gradient(_solve(h, c, R, loads, iterations))
    g = _balanced(g, h, c, loads)
    return jnp.max(jnp.where(mask, jnp.maximum(h - g[0], 0.0) / R, 0.0)), converged


def hertz_valid(height_mm, radius_mm, E_star_MPa) -> bool:
    """True when every contact at 10 N stays within small-strain Hertz theory (d/R ≤ 0.25)."""
    return hertz_strain(height_mm, radius_mm, E_star_MPa) <= HERTZ_LIMIT


def single_sphere_friction(load_N, radius_mm, E_star_MPa, tau0_MPa, B):
    """Closed form for one asperity: F = τ0 π (3 P R / (4 E*))^{2/3} + B P."""
    load_N = np.asarray(load_N, dtype=np.float64)
    return tau0_MPa * np.pi * (3.0 * load_N * radius_mm / (4.0 * E_star_MPa)) ** (2.0 / 3.0) + B * load_N


def fit_tau0_B(theta, laws_N, target_N, mask=None, *, tau0_range=None, B_range=None):
    """The interfacial shear strength τ0 and pressure coefficient B that best fit a target, exactly.

    F = τ0·π·A(P) + B·P: the real contact area A(P) of a realisation depends on the geometry and
    E* only, so for designs θ (K, 23) whose laws (K, 128) were simulated with their own τ0 and B,
    A follows from the law and the best (τ0, B) in the box is a two-unknown linear least-squares
    problem: minimise Σ ((F − T)/T)² over the masked loads (the relative residual, which the
    sMAPE tracks), subject to the bounds (the optimum is the unconstrained solution if it lies in
    the box, else the best one on an edge). Returns (θ with τ0, B replaced (K, 23), the laws
    those give (K, 128)): exact, no re-simulation needed. Both are float64 NumPy arrays.
    tau0_range, B_range: (lo, hi) inside the box to fit within instead of the box (a material the user
    fixed or bounded: lo = hi fixes it, and the fit then acts only on the other one).
    """
    theta = np.array(theta, dtype=np.float64, ndmin=2)
    laws = np.asarray(laws_N, dtype=np.float64).reshape(theta.shape[0], -1)
    target = np.asarray(target_N, dtype=np.float64)
    w = (np.ones_like(target) if mask is None else np.asarray(mask, dtype=np.float64)) / target ** 2
    P = LOAD_GRID_N
    tau0, B = theta[:, TAU0_IDX], theta[:, B_IDX]
    area = (laws - B[:, None] * P) / (np.pi * tau0[:, None])  # A(P) [mm²] of each realisation
    x = np.pi * area  # F = τ0·x + B·P
    # Normal equations of the weighted problem, per design: [[a, b], [b, c]] (τ0, B) = (d, e).
    a, b, c = (w * x * x).sum(1), (w * x * P).sum(1), (w * P * P).sum()
    d, e = (w * x * target).sum(1), (w * P * target).sum()
    lo_t, hi_t = tau0_range if tau0_range is not None else (THETA_LOWER[TAU0_IDX], THETA_UPPER[TAU0_IDX])
    lo_b, hi_b = B_range if B_range is not None else (THETA_LOWER[B_IDX], THETA_UPPER[B_IDX])
    det = a * c - b * b
    safe = np.where(det > 0, det, 1.0)
    options = [((c * d - b * e) / safe, (a * e - b * d) / safe)]  # interior
    for t_edge in (lo_t, hi_t):  # τ0 on an edge, B free along it
        options.append((np.full_like(a, t_edge), (e - b * t_edge) / c))
    for b_edge in (lo_b, hi_b):  # B on an edge, τ0 free along it
        options.append(((d - b * b_edge) / np.where(a > 0, a, 1.0), np.full_like(a, b_edge)))
    best_cost = np.full(a.shape, np.inf)
    best_t, best_b = tau0.copy(), B.copy()
    for t, bb in options:
        t, bb = np.clip(t, lo_t, hi_t), np.clip(bb, lo_b, hi_b)  # edges' free values clipped to the corners
        cost = (w * (t[:, None] * x + bb[:, None] * P - target) ** 2).sum(1)
        better = np.isfinite(cost) & (cost < best_cost)
        best_cost = np.where(better, cost, best_cost)
        best_t, best_b = np.where(better, t, best_t), np.where(better, bb, best_b)
    out = theta.copy()
    out[:, TAU0_IDX], out[:, B_IDX] = best_t, best_b
    return out, best_t[:, None] * x + best_b[:, None] * P


def enable_compilation_cache(path: str | None = None) -> str | None:
    """Keep compiled XLA programs on disk so the next start skips most compiling.

    The first design of a session otherwise pays several seconds of compilation per padded
    width. Path: `path`, else $FRICTION_STUDIO_JAX_CACHE, else $XDG_CACHE_HOME (or ~/.cache)
    /friction-studio/jax. FRICTION_STUDIO_JAX_CACHE=0 disables it. Returns the folder or None.
    """
    import os

    from studio.files import cache_folder

    path = path or os.environ.get("FRICTION_STUDIO_JAX_CACHE")
    if path == "0":
        return None
    if not path:
        path = str(cache_folder("jax"))
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    return path
