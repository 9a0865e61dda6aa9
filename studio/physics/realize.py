"""θ + N + seed → asperities (spec/physics.md §4), and θ → friction law in one call.

A design is the triple (θ, N, seed). The seed picks base draws (u, z_h, z_R) from
JAX's counter-based PRNG for MAX_ASPERITIES asperities; a design with N asperities
uses the first N of them, so the same seed realises consistently across N and
batched (padded) and single evaluations agree exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from studio.physics import friction as _friction
from studio.physics.theta import (
    B_IDX,
    E_STAR_IDX,
    MAX_ASPERITIES,
    MIN_RADIUS_MM,
    MU_H_IDX,
    MU_R_IDX,
    N_COMPONENTS,
    SD_H_IDX,
    SD_R_IDX,
    TAU0_IDX,
    THETA_SIZE,
    W_IDX,
    normalise_weights,
    validate,
    validate_asperity_count,
)


@dataclass(frozen=True)
class Asperities:
    """One realisation: summit heights and tip radii [mm], and the mixture component of each."""

    height_mm: np.ndarray
    radius_mm: np.ndarray
    component: np.ndarray

    def __len__(self) -> int:
        return len(self.height_mm)


def base_draws(seed, width: int = MAX_ASPERITIES):
    """Base draws (u, z_h, z_R), each (width,), float64, for an integer seed ≥ 0 (jittable, vmappable)."""
    key = jax.random.key(seed)
    k_u, k_h, k_r = jax.random.split(key, 3)
    u = jax.random.uniform(k_u, (width,), dtype=jnp.float64)
    z_h = jax.random.normal(k_h, (width,), dtype=jnp.float64)
    z_r = jax.random.normal(k_r, (width,), dtype=jnp.float64)
    return u, z_h, z_r


def asperities_from_draws(theta, u, z_h, z_r):
    """Heights, radii [mm] and component indices from θ and explicit base draws (spec §4).

    Differentiable with respect to the means, spreads and material; the component
    assignment (a step function of the weights) carries no gradient.
    """
    w = normalise_weights(theta[W_IDX])
    cum = jnp.cumsum(w)
    k = jnp.minimum(jnp.sum(cum[None, :] <= u[:, None], axis=-1), N_COMPONENTS - 1)
    h = theta[MU_H_IDX][k] + theta[SD_H_IDX][k] * z_h
    r = jnp.maximum(MIN_RADIUS_MM, theta[MU_R_IDX][k] + theta[SD_R_IDX][k] * z_r)
    return h, r, k


# Rows per compiled call: every batch is cut into blocks of this many rows (the last one padded with
# copies of its last row), so each path compiles one program per padded width, whatever the batch:
FAST_BLOCK = 16   # the float32 fast path: a CMA-ES population, a ranking block, the spread band
EXACT_BLOCK = 8   # the float64 reference and the realisation (one design or the designs a job keeps)


def _blocks(theta: np.ndarray, seeds: np.ndarray, block: int):
    """(θ block (block, 23), seeds block (block,), real rows) covering every row once."""
    for start in range(0, theta.shape[0], block):
        t, s = theta[start:start + block], seeds[start:start + block]
        k = t.shape[0]
        if k < block:
            t = np.concatenate([t, np.repeat(t[-1:], block - k, axis=0)])
            s = np.concatenate([s, np.repeat(s[-1:], block - k)])
        yield t, s, k


def _validated(theta, seeds):
    theta = np.stack([validate(t) for t in np.asarray(theta, dtype=np.float64).reshape(-1, THETA_SIZE)])
    return theta, np.broadcast_to(np.asarray(seeds, dtype=np.int64).reshape(-1), (theta.shape[0],))


def realize(theta, n: int, seed: int) -> Asperities:
    """The asperities of design (θ, N, seed) as float64 numpy arrays (the exact program's)."""
    return realize_many(np.asarray(theta, dtype=np.float64)[None], n, [int(seed)])[0]


def realize_many(theta, n: int, seeds) -> list[Asperities]:
    """The asperities of designs θ (batch, 23), one N, seeds (batch,)."""
    return simulate_and_realize(theta, n, seeds)[1]


def simulate_and_realize(theta, n: int, seeds) -> tuple[np.ndarray, list[Asperities]]:
    """Exact (float64) laws (batch, 128) and the asperities of designs θ (batch, 23) with one N and
    seeds (batch,): EXACT_BLOCK rows per call of one compiled program per width, which every
    exact evaluation and realisation of the project shares (a design, a job's results, a file)."""
    _friction.require_float64()
    theta, seeds = _validated(theta, seeds)
    n = validate_asperity_count(n)
    ns = np.full((EXACT_BLOCK,), n)
    laws, asperities = [], []
    for t, s, k in _blocks(theta, seeds, EXACT_BLOCK):
        law, h, r, c = (np.asarray(a) for a in _exact_jit(jnp.asarray(t), jnp.asarray(ns), jnp.asarray(s),
                                                          bucket_width(n)))
        laws.append(np.asarray(law, dtype=np.float64)[:k])
        asperities += [Asperities(h[i, :n], r[i, :n], c[i, :n].astype(np.int32)) for i in range(k)]
    return np.concatenate(laws, axis=0), asperities


@partial(jax.jit, static_argnames=("width",))
def _exact_jit(theta, n, seed, width):
    """Reference laws (float64, REFERENCE_ITERATIONS: converged, no host fallback) and asperities."""
    loads = jnp.asarray(_friction.LOAD_GRID_N)

    def one(t, nn, s):
        u, z_h, z_r = base_draws(s, width)  # the first N of the stream are the design's, whatever the width
        h, r, k = asperities_from_draws(t, u, z_h, z_r)
        mask = jnp.arange(width) < nn
        law, _ = _friction._friction_single(h, r, mask, t[E_STAR_IDX], t[TAU0_IDX], t[B_IDX], loads,
                                            _friction.REFERENCE_ITERATIONS)
        return law, h, r, k

    return jax.vmap(one)(theta, n, seed)


def _simulate_one(theta, n, seed, loads, iterations, dtype, width):
    u, z_h, z_r = base_draws(seed, width)
    h, r, _ = asperities_from_draws(theta, u, z_h, z_r)
    mask = jnp.arange(width) < n
    return _friction._friction_single(h.astype(dtype), r.astype(dtype), mask, theta[E_STAR_IDX].astype(dtype),
                                      theta[TAU0_IDX].astype(dtype), theta[B_IDX].astype(dtype), loads.astype(dtype),
                                      iterations)


@partial(jax.jit, static_argnames=("iterations", "dtype", "width"))
def _simulate_batch_jit(theta, n, seed, iterations, dtype, width):
    loads = jnp.asarray(_friction.LOAD_GRID_N)
    fn = jax.vmap(_simulate_one, in_axes=(0, 0, 0, None, None, None, None))
    return fn(theta, n, seed, loads, iterations, dtype, width)


def simulate_batch(theta, n, seed, *, iterations=_friction.FAST_ITERATIONS, dtype=jnp.float32,
                   width: int = MAX_ASPERITIES):
    """Friction laws (batch, 128) [N] for designs θ (batch, 23), N (batch,), seeds (batch,).

    `width` is the padded asperity count (≥ max N of the batch): batches of small N
    run faster with a smaller width and give identical results. Rows whose solver did
    not converge in `iterations` steps are redone to convergence (friction.solve_with_fallback).
    """
    _friction.require_float64()
    args = (jnp.asarray(theta, jnp.float64), jnp.asarray(n), jnp.asarray(seed))
    dtype = jnp.dtype(dtype)
    return _friction.solve_with_fallback(
        lambda th, nn, ss, it: _simulate_batch_jit(th, nn, ss, it, dtype, width), args, iterations)


def simulate(theta, n: int, seed: int, *, dtype=jnp.float64) -> np.ndarray:
    """Friction law F [N] on the 128-point grid of one design (θ, N, seed).

    float64 (the reference) is simulate_and_realize's program: one design or many, one compile per width."""
    if jnp.dtype(dtype) == jnp.float64:
        return simulate_many(np.asarray(theta, dtype=np.float64)[None], n, [int(seed)])[0]
    theta = validate(theta)
    n = validate_asperity_count(n)
    out = simulate_batch(theta[None], jnp.asarray([n]), jnp.asarray([int(seed)]), iterations=_friction.FAST_ITERATIONS,
                         dtype=jnp.dtype(dtype), width=bucket_width(n))
    return np.asarray(out[0], dtype=np.float64)


def simulate_many(theta, n: int, seeds) -> np.ndarray:
    """Exact (float64) laws (batch, 128) of designs θ (batch, 23) with one N and seeds (batch,).

    EXACT_BLOCK rows per compiled call (simulate_and_realize's program); row i equals
    simulate(θ_i, N, seed_i)."""
    return simulate_and_realize(theta, n, seeds)[0]


def simulate_fast(theta, n: int, seeds, *, block: int = FAST_BLOCK) -> np.ndarray:
    """float32-path laws (P, 128) [N] of designs θ (P, 23) with one asperity count and seeds (P,) or
    one seed, `block` rows per compiled call: one program per (block, width) serves any batch.

    Not validated (a search's proposals are in the box by construction); not differentiable."""
    theta = np.asarray(theta, dtype=np.float64).reshape(-1, THETA_SIZE)
    seeds = np.broadcast_to(np.asarray(seeds, dtype=np.int64), (theta.shape[0],))
    ns = np.full((int(block),), int(n))  # NumPy: no eager JAX op (a compile) in a job thread
    out = np.empty((theta.shape[0], _friction.N_LOADS))
    for i, (t, s, k) in enumerate(_blocks(theta, seeds, int(block))):
        # simulate_batch is called outside jit: its fast path redoes unconverged rows on the host.
        laws = simulate_batch(t, ns, s, width=bucket_width(int(n)))
        out[i * int(block):i * int(block) + k] = np.asarray(laws, dtype=np.float64)[:k]
    return out


def strain_of(theta, n, seed, width: int):
    """Largest d/R of design (θ, N, seed) at the canonical largest load (10 N): traceable and
    differentiable in θ (the gradient polish's validity term). d/R is the same at every load range
    (lengths ×λ, loads ×λ²), so the canonical value is the design's at its own range."""
    return _strain_solved(theta, n, seed, width, _friction.REFERENCE_ITERATIONS)[0]


def _strain_solved(theta, n, seed, width: int, iterations: int):
    """(strain_of's value, converged) with `iterations` secant steps (friction._strain_solved)."""
    u, z_h, z_r = base_draws(seed, width)
    h, r, _ = asperities_from_draws(theta, u, z_h, z_r)
    return _friction._strain_solved(h, r, jnp.arange(width) < n, theta[E_STAR_IDX],
                                    jnp.asarray(_friction.MAX_LOAD_N, h.dtype), iterations)


@partial(jax.jit, static_argnames=("width", "iterations"))
def _strain_batch_jit(theta, n, seed, width, iterations):
    strain, converged = jax.vmap(_strain_solved, in_axes=(0, 0, 0, None, None))(theta, n, seed, width, iterations)
    return strain, converged


def strain_fast(theta, n: int, seeds, *, block: int = FAST_BLOCK) -> np.ndarray:
    """Largest d/R (P,) of designs θ (P, 23) with one N and seeds (P,) or one seed at the largest
    load (float64, converged: the value Design.hertz_valid compares with HERTZ_LIMIT), `block`
    rows per compiled call like simulate_fast. Not validated."""
    _friction.require_float64()
    theta = np.asarray(theta, dtype=np.float64).reshape(-1, THETA_SIZE)
    seeds = np.broadcast_to(np.asarray(seeds, dtype=np.int64), (theta.shape[0],))
    ns = np.full((int(block),), int(n))
    out = np.empty(theta.shape[0])
    width = bucket_width(int(n))

    def batch(t, ns_, s, iterations):  # the laws' fast path: few secant steps, unconverged rows redone
        return _strain_batch_jit(t, ns_, s, width=width, iterations=iterations)

    for i, (t, s, k) in enumerate(_blocks(theta, seeds, int(block))):
        strain = _friction.solve_with_fallback(batch, (jnp.asarray(t), jnp.asarray(ns), jnp.asarray(s)),
                                               _friction.FAST_ITERATIONS)
        out[i * int(block):i * int(block) + k] = np.asarray(strain, dtype=np.float64)[:k]
    return out


def bucket_width(n: int) -> int:
    """Padded width for N: the next multiple of 32, so few shapes are compiled."""
    return int(min(MAX_ASPERITIES, -(-n // 32) * 32))


BAND_SEEDS = 64
BAND_PERCENTILES = (5.0, 95.0)


def band_seeds(seed: int, count: int = BAND_SEEDS) -> np.ndarray:
    """Seeds of the 'other moulds' of a design: deterministic, distinct from `seed`."""
    ss = np.random.SeedSequence([int(seed), 0xBA2D])
    return ss.generate_state(count, dtype=np.uint32).astype(np.int64)


def spread_band(theta, n: int, seed: int = 0, count: int = BAND_SEEDS,
                percentiles=BAND_PERCENTILES) -> tuple[np.ndarray, np.ndarray]:
    """5th and 95th percentile of F over `count` other realisations of θ (spec §4), float32 path."""
    theta = validate(theta)
    n = validate_asperity_count(n)
    laws = simulate_fast(np.repeat(theta[None], count, axis=0), n, band_seeds(seed, count))
    lo, hi = np.percentile(laws, percentiles, axis=0)
    return lo, hi
