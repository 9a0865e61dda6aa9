"""Asperities + material → friction law F(P) on the load grid (spec/physics.md §1–2).

Units: heights, radii and indentations in mm, moduli and strengths in MPa,
forces in N (MPa · mm² = N, so no conversion factors appear).

Solver. For each load P_j we need the flat position g_j with Σ_i c_i d_i^{3/2} = P_j,
c_i = 4/3 E* sqrt(R_i), d_i = max(0, h_i − g). We solve φ(g) = P(g)^{2/3} = P_j^{2/3}
instead: φ is the 3/2-norm of the vector (c_i^{2/3} d_i), hence convex, decreasing and
nearly linear in g (exactly linear for one asperity). Newton on a convex decreasing
function started left of the root climbs monotonically to it with no overshoot. The
start is a guaranteed lower bound from the heights sorted in descending order:
for any k, g ≤ h_(k) ⇒ P(g) ≥ C_k (h_(k) − g)^{3/2} with C_k the sum of the top-k c_i,
so g0_j = max_k [h_(k) − (P_j/C_k)^{2/3}] ≤ g_j. The max separates into a multiply-add
over (load, k), cheaper than one Newton step.

Gradients. The converged g is held constant (stop_gradient) and one last Newton step
on P(g) − P_j is taken with its derivative held constant: its value is g again and its
derivative is exactly the implicit-function derivative −(∂P/∂x)/(∂P/∂g).

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

# Newton steps on φ after the sorted-height start. Measured (tests/test_physics.py,
# benchmarks/forward.py): 6 reach float32 round-off, 30 leave float64 converged to ~1e-15.
FAST_ITERATIONS = 6
REFERENCE_ITERATIONS = 30
_PAD_DEPTH_MM = 1.0e3  # padded asperities sit this far below the summit with zero stiffness


def _sqrt_nonneg(d):
    """sqrt(d) for d ≥ 0 with a finite gradient at 0 (the offset is below round-off for any d > 0)."""
    return jnp.sqrt(d + jnp.finfo(d.dtype).tiny)


# XLA on CPU rewrites sum(broadcast(c) * X) into a dot product that materialises X, which is
# ~10x slower than a fused loop here. The sums below therefore fold each per-asperity factor
# inside a nonlinearity (sqrt(c² d), max(R h − R g, 0)); benchmarks/forward.py measures this.

def _indentation(h, g):
    return jnp.maximum(h[None, :] - g[:, None], 0.0)


def _load(h, c2, g):
    """P(g) [N] for heights h (N,), squared stiffness c2 = c² (N,) and flat positions g (M,)."""
    d = _indentation(h, g)
    return jnp.sum(jnp.sqrt(c2 * d) * d, axis=-1)


def _load_and_slope(h, c2, g):
    """P(g) and dP/dg in one fused pass (a variadic reduction)."""
    d = _indentation(h, g)
    w = jnp.sqrt(c2 * d)
    zero = jnp.zeros((), d.dtype)
    load, slope = jax.lax.reduce((w * d, w), (zero, zero), lambda x, y: (x[0] + y[0], x[1] + y[1]), (1,))
    return load, -1.5 * slope


START_THRESHOLDS = 24


def _lower_bound_start(h, c, loads):
    """g0_j ≤ g_j for every load, with no sort.

    For any threshold t: g ≤ t ⇒ every asperity with h_i ≥ t has d_i ≥ t − g, so
    P(g) ≥ C(t) (t − g)^{3/2}, C(t) = Σ_{h_i ≥ t} c_i; hence t − (P_j/C(t))^{2/3} ≤ g_j.
    Thresholds are spaced geometrically below the summit (h = 0) down to the depth at
    which the top asperity alone would carry the largest load.
    """
    c_top = jnp.max(jnp.where(h == 0, c, 0.0))
    depth = (loads[-1] / c_top) ** (2.0 / 3.0)
    t = -depth * jnp.geomspace(1.0, 1e-4, START_THRESHOLDS - 1, dtype=h.dtype)
    t = jnp.concatenate([t, jnp.zeros((1,), h.dtype)])
    cum = jnp.sum(jnp.where(h[None, :] >= t[:, None], c[None, :], 0.0), axis=-1)
    inv = cum ** (-2.0 / 3.0)
    return jnp.max(t[None, :] - (loads ** (2.0 / 3.0))[:, None] * inv[None, :], axis=-1)


def _solve_flat_position(h, c, loads, iterations):
    """Flat positions g (M,) with P(g) = loads; h shifted so max(h) = 0.

    One Newton step on φ = P^{2/3} from the lower-bound start, then secant steps (one
    fused pass each instead of two). Both stay left of the root on a convex decreasing φ.
    """
    c2 = c * c
    a = loads ** (2.0 / 3.0)
    tiny = jnp.finfo(h.dtype).tiny
    g0 = _lower_bound_start(h, c, loads)
    load0, slope0 = _load_and_slope(h, c2, g0)
    load0 = jnp.maximum(load0, tiny)
    phi0 = load0 ** (2.0 / 3.0)
    dphi0 = (2.0 / 3.0) * slope0 / load0 ** (1.0 / 3.0)
    g1 = g0 - jnp.minimum((phi0 - a) / jnp.where(dphi0 < 0, dphi0, -1.0), 0.0)

    def secant(_, state):
        g0, phi0, g1 = state
        phi1 = _load(h, c2, g1) ** (2.0 / 3.0)
        dphi = phi1 - phi0
        ok = (dphi < 0) & (g1 > g0)
        step = jnp.where(ok, -(phi1 - a) * (g1 - g0) / jnp.where(ok, dphi, -1.0), 0.0)
        # Steps shrink on a convex function; bounding each by the last guards against
        # round-off in phi1 - phi0 once converged.
        return g1, phi1, g1 + jnp.clip(step, 0.0, g1 - g0)

    _, _, g = jax.lax.fori_loop(0, iterations, secant, (g0, phi0, g1))
    return g


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


def _friction_single(height_mm, radius_mm, mask, E_star, tau0, B, loads, iterations):
    dtype = height_mm.dtype
    mask = mask.astype(bool)
    top = jnp.max(jnp.where(mask, height_mm, -jnp.inf))
    h = jnp.where(mask, height_mm - top, -_PAD_DEPTH_MM).astype(dtype)
    R = jnp.where(mask, radius_mm, 0.0).astype(dtype)
    c = (4.0 / 3.0) * E_star * _sqrt_nonneg(R)
    loads = loads.astype(dtype)
    g = jax.lax.stop_gradient(_solve_flat_position(h, c, loads, iterations))
    g = _balanced(g, h, c, loads)
    area = jnp.pi * jnp.sum(jnp.maximum((R * h)[None, :] - R[None, :] * g[:, None], 0.0), axis=-1)  # mm²
    return tau0 * area + B * loads


@partial(jax.jit, static_argnames=("iterations",))
def friction_law_batch(height_mm, radius_mm, mask, E_star, tau0, B, loads=None, *, iterations=FAST_ITERATIONS):
    """Friction laws (batch, M) [N] for padded asperity arrays (batch, width).

    Entries with mask False are padding and carry no load. The dtype of height_mm
    selects the path: float32 is the fast path, float64 the reference.
    """
    if loads is None:
        loads = jnp.asarray(LOAD_GRID_N)
    fn = jax.vmap(_friction_single, in_axes=(0, 0, 0, 0, 0, 0, None, None))
    return fn(height_mm, radius_mm, mask, E_star, tau0, B, loads, iterations)


@partial(jax.jit, static_argnames=("iterations",))
def _friction_law_jit(height_mm, radius_mm, E_star, tau0, B, loads, iterations):
    mask = jnp.ones(height_mm.shape, dtype=bool)
    return _friction_single(height_mm, radius_mm, mask, E_star, tau0, B, loads, iterations)


def friction_law(height_mm, radius_mm, E_star_MPa, tau0_MPa, B, *, loads_N=None, dtype=jnp.float64,
                 iterations=None):
    """Friction force F [N] at each load of `loads_N` (default: the 128-point grid).

    Differentiable with respect to heights, radii and material (jax.grad works
    through it). float64 is the reference path, float32 the fast path.
    """
    if iterations is None:
        iterations = REFERENCE_ITERATIONS if jnp.dtype(dtype) == jnp.float64 else FAST_ITERATIONS
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
    g = _solve_flat_position(h, c, loads, REFERENCE_ITERATIONS)
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
