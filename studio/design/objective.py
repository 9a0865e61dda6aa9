"""The design objective on the masked load grid: fast batch ranking and a differentiable residual.

Three views of one quantity (how far a design's law is from the target):
  * `BatchObjective.errors` — masked sMAPE [%] of a population in float32 (studio.physics.simulate_fast),
    for CMA-ES populations; `BatchObjective.rank` ranks model proposals the one way
    (studio.physics.ranking.rank). Fixed shapes: `batch` rows per call and N bucketed to a multiple of
    32, so each (batch, width) compiles once per process.
  * `polish` — Levenberg–Marquardt on the log residual log F(θ) − log F_target over the masked loads,
    through the differentiable float64 model, with the realisation seed (base draws) held fixed. The
    mixture weights only move asperities between components (a step function), so they are held too.
    For small residuals |log(a/b)| ≈ the sMAPE term, so this least-squares problem tracks the metric.
  * the reported error: always the exact float64 sMAPE (Design.evaluate / Target.error).

The target's constraints (issue 21) act here, so every engine honours them: its material
(Target.material: units are projected into its ranges, proposals adapted, τ0 and B fitted within
them, the polish bounded by them and fixed entries held) and small-strain validity (Target.validity:
populations and proposals are scored with studio.physics.ranking.scores, the polish adds a residual
for the excess of d/R over the limit).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from studio.design.core import Target
from studio.physics import THETA_LOWER, THETA_SIZE, THETA_UPPER, bucket_width, from_unit, simulate_batch, to_unit
from studio.physics.friction import REFERENCE_ITERATIONS
from studio.physics.ranking import errors_percent, rank, scores
from studio.physics.realize import FAST_BLOCK, simulate_fast, strain_fast, strain_of
from studio.physics.theta import W_IDX

# NumPy, not JAX, constants: a module-level JAX array would take the precision JAX had at import.
_LOWER = np.asarray(THETA_LOWER)
_SPAN = np.asarray(THETA_UPPER - THETA_LOWER)

# θ entries the gradient polish moves: everything but the mixture weights (no gradient through them).
CONTINUOUS_IDX = np.array(sorted(set(range(THETA_SIZE)) - set(W_IDX.tolist())))


# The polish's validity residual: STRAIN_WEIGHT × the relative excess of d/R over STRAIN_MARGIN × the limit
# (a hair inside it, so the polished design is valid on the exact model, not on its edge). With 128 log
# residuals of ~0.01, a weight of 10 makes 1 % excess cost as much as the whole fit at 1 %.
STRAIN_WEIGHT = 10.0
STRAIN_MARGIN = 0.995


def _log_residual(free_unit, fixed_unit, free_idx, n, seed, log_target, mask, limit, width, constrained):
    # Traceable: at REFERENCE_ITERATIONS simulate_batch has no host-side fallback.
    x = fixed_unit.at[free_idx].set(free_unit)
    theta = _LOWER + x * _SPAN
    law = simulate_batch(theta[None], n[None], seed[None], iterations=REFERENCE_ITERATIONS, dtype=jnp.float64,
                         width=width)[0]
    r = jnp.where(mask, jnp.log(law) - log_target, 0.0)
    if not constrained:
        return r
    excess = jnp.maximum(strain_of(theta, n, seed, width) / limit - 1.0, 0.0)
    return jnp.concatenate([r, (STRAIN_WEIGHT * excess)[None]])


_residual = jax.jit(_log_residual, static_argnames=("width", "constrained"))
_jacobian = jax.jit(jax.jacfwd(_log_residual), static_argnames=("width", "constrained"))


class BatchObjective:
    """Masked float32 sMAPE [%] of populations of unit-box designs for one target and asperity count."""

    def __init__(self, target: Target, batch: int = FAST_BLOCK):
        self.target = target
        self.batch = int(batch)  # rows per compiled call
        self._target_N = np.asarray(target.friction_N, dtype=np.float64)
        self._mask = np.asarray(target.mask, dtype=bool)
        self.material = target.material
        self.limit = target.strain_limit  # None: validity is no constraint (--allow-invalid)
        self.mode = "penalty" if target.validity == "penalty" else "feasibility"
        self.evaluations = 0

    def project(self, unit: np.ndarray) -> np.ndarray:
        """Unit-box designs (P, 23) clipped to the box and to the target's material ranges."""
        return self.material.project_unit(np.clip(np.asarray(unit, dtype=np.float64).reshape(-1, THETA_SIZE), 0.0, 1.0))

    def laws(self, unit: np.ndarray, seeds) -> np.ndarray:
        """float32-path laws (P, 128) [N] of designs θ = from_unit(project(unit)) (P, 23) realised with
        `seeds` (P,) or one int seed; counted in `evaluations`."""
        theta = from_unit(self.project(unit))
        self.evaluations += theta.shape[0]
        return simulate_fast(theta, self.target.N, seeds, block=self.batch)

    def errors_of(self, laws: np.ndarray) -> np.ndarray:
        """Masked sMAPE [%] of laws (P, 128) against the target; 200 (the maximum) where not finite."""
        return errors_percent(laws, self._target_N, self._mask)

    def errors(self, unit: np.ndarray, seeds) -> np.ndarray:
        """Scores [%] of designs θ = from_unit(project(unit)) (P, 23) realised with `seeds` (P,) or one int
        seed: the masked sMAPE, with the validity term when validity is a constraint (ranking.scores)."""
        err = self.errors_of(self.laws(unit, seeds))
        if self.limit is None:
            return err
        strain = strain_fast(from_unit(self.project(unit)), self.target.N, seeds, block=self.batch)
        return scores(err, strain, self.limit, self.mode)

    def rank(self, unit: np.ndarray, seeds) -> tuple[np.ndarray, np.ndarray]:
        """Proposals (P, 23) in the unit box ranked the studio's one way (studio.physics.ranking.rank:
        τ0 and B, which enter the law linearly, solved exactly for each one's realisation, within the
        user's material; proposals first adapted to it, Material.adapt): (the fitted proposals in the
        unit box, their scores [%]), in the order given."""
        theta = self.material.adapt(from_unit(np.clip(np.asarray(unit, dtype=np.float64).reshape(-1, THETA_SIZE),
                                                      0.0, 1.0)))
        self.evaluations += theta.shape[0]
        r = rank(theta, self.target.N, seeds, self._target_N, self._mask, fit=True, block=self.batch,
                 tau0_range=self.material.range("tau0"), B_range=self.material.range("B"), limit=self.limit,
                 mode=self.mode)
        return self.project(to_unit(r.theta)), r.scores


def polish(target: Target, unit: np.ndarray, seed: int, *, max_steps: int = 40, chunk: int = 5):
    """Bounded least squares (scipy's trust-region reflective) on the continuous θ entries, seed fixed.

    A generator: runs `chunk` function evaluations at a time and yields (unit θ, cost, evaluations)
    after each chunk, so the caller can check its job control and clock in between; stops after
    `max_steps` trust-region steps or on convergence and returns the unit θ reached.
    cost = ½ Σ (log F − log F_target)² over the masked loads.
    """
    from scipy.optimize import least_squares

    width = bucket_width(target.N)
    # Every continuous entry is an unknown, the user's fixed material held by a zero-width bound (x stays
    # there): one compiled residual and Jacobian for any material, the one warm-up compiles (a free-entry
    # set per material compiled seconds of XLA for each new choice in the studio).
    idx = CONTINUOUS_IDX
    lower, upper = (b[idx] for b in target.material.unit_bounds())
    fixed_np = target.material.project_unit(np.clip(np.asarray(unit, dtype=np.float64), 0.0, 1.0))
    fixed = jnp.asarray(fixed_np)
    constrained = target.strain_limit is not None
    limit = (target.strain_limit or 1.0) * STRAIN_MARGIN
    args = (fixed, jnp.asarray(idx), jnp.asarray(target.N), jnp.asarray(int(seed)),
            jnp.asarray(np.log(target.friction_N)), jnp.asarray(target.mask), jnp.asarray(limit))

    def residual(free):
        r = np.asarray(_residual(jnp.asarray(free), *args, width=width, constrained=constrained))
        return np.where(np.isfinite(r), r, 1e3)

    def jacobian(free):
        J = np.asarray(_jacobian(jnp.asarray(free), *args, width=width, constrained=constrained))
        return np.where(np.isfinite(J), J, 0.0)

    # least_squares needs lower < upper strictly: a fixed entry gets a 1e-12 box (projected back exactly
    # onto its value where the job keeps the design, BatchObjective.project)
    x = np.clip(fixed_np[idx], lower, upper)
    upper = np.maximum(upper, lower + 1e-12)
    evaluations = steps = 0  # laws simulated (a Jacobian counts one per entry); trust-region steps taken
    while steps < max_steps:
        res = least_squares(residual, x, jac=jacobian, bounds=(lower, upper), method="trf", x_scale="jac",
                            max_nfev=min(chunk, max_steps - steps))
        steps += res.nfev
        evaluations += res.nfev + res.njev * len(idx)
        x = np.clip(res.x, lower, upper)
        yield _full(fixed_np, idx, x), float(res.cost), evaluations
        if res.status > 0:  # converged (ftol / xtol / gtol)
            break
    return _full(fixed_np, idx, x)


def _full(fixed, idx, free) -> np.ndarray:
    out = np.array(fixed, dtype=np.float64)
    out[idx] = free
    return out
