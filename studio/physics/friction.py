"""Asperities + material → friction law F(P) on the load grid (spec/physics.md §1–2).

Units: heights, radii and indentations in mm, moduli and strengths in MPa,
forces in N (MPa · mm² = N, so no conversion factors appear).

Solver. For each load P_j we need the flat position g_j with Σ_i c_i d_i^{3/2} = P_j,
c_i = 4/3 E* sqrt(R_i), d_i = max(0, h_i − g). We solve φ(g) = P(g)^{2/3} = P_j^{2/3}
instead: φ is the 3/2-norm of the vector (c_i^{2/3} d_i), hence convex, decreasing and
nearly linear in g (exactly linear for one asperity). Secant steps on a convex
decreasing function started from two points left of the root climb monotonically to it
with no overshoot. The start is a guaranteed lower bound built from a few height
thresholds (see _lower_bound_start), with no sort.

Gradients. The solver runs under stop_gradient; custom JVPs then give g the
implicit-function derivative −(∂P/∂x)/(∂P/∂g) of the load balance P(g) = P_j, and the
contact area its derivative in h, R and g, so jax.grad works through the law.

Precision. Heights are shifted so the highest is 0 before solving, so float32 resolves
the small indentations of the first contacts relative to the summit, not the datum.
"""
from __future__ import annotations

from functools import partial

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

N_LOADS = 128
MAX_LOAD_N = 10.0
LOAD_GRID_N = MAX_LOAD_N * np.arange(1, N_LOADS + 1, dtype=np.float64) / N_LOADS

# Secant steps on φ after the lower-bound start. Measured (tests/test_physics.py,
# benchmarks/forward.py): 7 reach float32 round-off on random designs of the box, 40 leave
# float64 converged to ~1e-15.
FAST_ITERATIONS = 7
REFERENCE_ITERATIONS = 40
_PAD_DEPTH_MM = 1.0e3  # padded asperities sit this far below the summit with zero stiffness
START_THRESHOLDS = 16
START_SAMPLE = 32
CONVERGENCE_TOL = {"float32": 1e-5, "float64": 1e-12}


def _sqrt_nonneg(d):
    """sqrt(d) for d ≥ 0 with a finite gradient at 0 (the offset is below round-off for any d > 0)."""
    return jnp.sqrt(d + jnp.finfo(d.dtype).tiny)


def _indentation(h, g):
    return jnp.maximum(h[None, :] - g[:, None], 0.0)


def _lower_bound_start(h, c, loads):
    """g0_j ≤ g_j for every load, with no sort.

    For any threshold t: g ≤ t ⇒ every asperity with h_i ≥ t has d_i ≥ t − g, so
    P(g) ≥ C(t) (t − g)^{3/2}, C(t) = Σ_{h_i ≥ t} c_i; hence t − (P_j/C(t))^{2/3} ≤ g_j.
    Thresholds: depths spaced geometrically below the summit (h = 0) down to where the
    top asperity alone would carry the largest load, plus the heights of a sample of the
    asperities themselves (the first START_SAMPLE; realisations are in random order), which
    put thresholds at the edges of tight clusters where φ has its sharpest kinks.
    """
    c_top = jnp.max(jnp.where(h == 0, c, 0.0))
    depth = (loads[-1] / c_top) ** (2.0 / 3.0)
    t = -depth * jnp.geomspace(1.0, 1e-4, START_THRESHOLDS - 1, dtype=h.dtype)
    t = jnp.concatenate([t, jnp.zeros((1,), h.dtype), h[:START_SAMPLE]])
    cum = jnp.sum(jnp.where(h[None, :] >= t[:, None], c[None, :], 0.0), axis=-1)
    inv = cum ** (-2.0 / 3.0)
    return jnp.max(t[None, :] - (loads ** (2.0 / 3.0))[:, None] * inv[None, :], axis=-1)


def _solve(h, c, R, loads, iterations):
    """Flat positions g (M,) with P(g) = loads, and the real contact area Σ R_i d_i [mm²] there.

    h is shifted so max(h) = 0. Secant on φ = P^{2/3} from two lower bounds of the root
    (the start and a point below it): on a convex decreasing φ every secant iterate stays
    left of the root and the steps shrink, so each step is bounded by the previous one,
    which also guards against round-off once converged.

    Every pass over (loads × asperities) runs in the body of one loop, the same body each
    time: term = sqrt(w² d² (k1 d + k0)) summed over asperities, which is P = Σ c d^{3/2}
    with (w, k1, k0) = (c, 1, 0) and the area Σ R d with (R, 0, 1) in the last pass.
    XLA on CPU compiles this one fused loop far better than separate reductions of the
    same arithmetic (measured in benchmarks/forward.py's history, docs/physics.md).
    """
    dtype = h.dtype
    a = loads ** (2.0 / 3.0)
    g_hi = _lower_bound_start(h, c, loads)
    g_lo = g_hi - (1e-5 + 1e-3 * jnp.abs(g_hi))  # near-tangent first secant: a Newton step
    c2, R2 = c * c, R * R
    last = iterations + 1

    def body(i, state):
        g0, phi0, g1, area, last_step = state
        is_area = i == last
        g_eval = jnp.where(i == 0, g_lo, g1)
        w2 = jnp.where(is_area, R2, c2)
        k1 = jnp.where(is_area, 0.0, 1.0).astype(dtype)
        k0 = (1 - k1).astype(dtype)
        d = _indentation(h, g_eval)
        value = jnp.sum(jnp.sqrt(w2[None, :] * d * d * (k1 * d + k0)), axis=-1)
        phi1 = value ** (2.0 / 3.0)
        dphi = phi1 - phi0
        ok = (dphi < 0) & (g1 > g0)
        step = jnp.where(ok, -(phi1 - a) * (g1 - g0) / jnp.where(ok, dphi, -1.0), 0.0)
        limit = jnp.where(i == 1, jnp.inf, g1 - g0)
        g_next = g1 + jnp.clip(step, 0.0, limit)
        first = i == 0
        secant = (i > 0) & ~is_area
        return (jnp.where(first, g_lo, jnp.where(secant, g1, g0)),
                jnp.where(first | secant, phi1, phi0),
                jnp.where(secant, g_next, g1),
                jnp.where(is_area, value, area),
                jnp.where(secant, g_next - g1, last_step))

    init = (g_lo, jnp.zeros_like(a), g_hi, jnp.zeros_like(a), jnp.full_like(a, jnp.inf))
    _, _, g, area, last_step = jax.lax.fori_loop(0, last + 1, body, init)
    # Converged when the last secant step was tiny relative to the depth below the summit;
    # the secant's superlinear order makes the remaining error far smaller than that step.
    tol = CONVERGENCE_TOL[jnp.dtype(dtype).name]
    converged = jnp.all(jnp.abs(last_step) <= tol * jnp.abs(g))
    return g, area, converged


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


def solve_with_fallback(batch_fn, args, iterations):
    """Run `batch_fn(*args, iterations)` → (laws, converged), then redo the rows that did not
    converge with more steps (twice as many, then REFERENCE_ITERATIONS), padded to a multiple
    of 64 rows so few shapes compile.

    A few designs (tight clusters of asperities far below a lone summit) need more secant
    steps than the fast path takes (about 1 % at N = 256, fewer at small N; see
    tests/test_physics.py); they are found by their last step size and redone.
    """
    laws, converged = batch_fn(*args, iterations)
    rows = np.arange(len(laws))
    while iterations < REFERENCE_ITERATIONS:
        bad = rows[np.flatnonzero(~np.asarray(converged))]
        if bad.size == 0:
            break
        iterations = min(REFERENCE_ITERATIONS, 2 * iterations + 2)
        padded = np.resize(bad, -(-bad.size // 64) * 64)  # pad by repeating bad rows
        sub = [x[padded] if getattr(x, "ndim", 0) >= 1 else x for x in args]
        redo, converged = batch_fn(*sub, iterations)
        laws = laws.at[bad].set(redo[: bad.size])
        converged, rows = converged[: bad.size], bad
    return laws


def friction_law_batch(height_mm, radius_mm, mask, E_star, tau0, B, loads=None, *, iterations=FAST_ITERATIONS):
    """Friction laws (batch, M) [N] for padded asperity arrays (batch, width).

    Entries with mask False are padding and carry no load. The dtype of height_mm
    selects the path: float32 is the fast path, float64 the reference.
    """
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


def hertz_valid(height_mm, radius_mm, E_star_MPa) -> bool:
    """True when every contact at 10 N stays within small-strain Hertz theory (d/R ≤ 0.25)."""
    return hertz_strain(height_mm, radius_mm, E_star_MPa) <= HERTZ_LIMIT


def single_sphere_friction(load_N, radius_mm, E_star_MPa, tau0_MPa, B):
    """Closed form for one asperity: F = τ0 π (3 P R / (4 E*))^{2/3} + B P."""
    load_N = np.asarray(load_N, dtype=np.float64)
    return tau0_MPa * np.pi * (3.0 * load_N * radius_mm / (4.0 * E_star_MPa)) ** (2.0 / 3.0) + B * load_N


def enable_compilation_cache(path: str | None = None) -> str | None:
    """Keep compiled XLA programs on disk so the next start skips most compiling.

    The first design of a session otherwise pays several seconds of compilation per padded
    width. Path: `path`, else $FRICTION_STUDIO_JAX_CACHE, else $XDG_CACHE_HOME (or ~/.cache)
    /friction-studio/jax. FRICTION_STUDIO_JAX_CACHE=0 disables it. Returns the folder or None.
    """
    import os

    path = path or os.environ.get("FRICTION_STUDIO_JAX_CACHE")
    if path == "0":
        return None
    if not path:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "friction-studio", "jax")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    return path
