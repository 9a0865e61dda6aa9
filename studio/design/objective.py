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
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from studio.design.core import Target
from studio.physics import THETA_LOWER, THETA_SIZE, THETA_UPPER, bucket_width, from_unit, simulate_batch, to_unit
from studio.physics.friction import REFERENCE_ITERATIONS
from studio.physics.ranking import errors_percent, rank
from studio.physics.realize import FAST_BLOCK, simulate_fast
from studio.physics.theta import W_IDX

# NumPy, not JAX, constants: a module-level JAX array would take the precision JAX had at import.
_LOWER = np.asarray(THETA_LOWER)
_SPAN = np.asarray(THETA_UPPER - THETA_LOWER)

# θ entries the gradient polish moves: everything but the mixture weights (no gradient through them).
CONTINUOUS_IDX = np.array(sorted(set(range(THETA_SIZE)) - set(W_IDX.tolist())))


def _log_residual(free_unit, fixed_unit, n, seed, log_target, mask, width):
    # Traceable: at REFERENCE_ITERATIONS simulate_batch has no host-side fallback.
    x = fixed_unit.at[CONTINUOUS_IDX].set(free_unit)
    theta = _LOWER + x * _SPAN
    law = simulate_batch(theta[None], n[None], seed[None], iterations=REFERENCE_ITERATIONS, dtype=jnp.float64,
                         width=width)[0]
    return jnp.where(mask, jnp.log(law) - log_target, 0.0)


_residual = jax.jit(_log_residual, static_argnames=("width",))
_jacobian = jax.jit(jax.jacfwd(_log_residual), static_argnames=("width",))


class BatchObjective:
    """Masked float32 sMAPE [%] of populations of unit-box designs for one target and asperity count."""

    def __init__(self, target: Target, batch: int = FAST_BLOCK):
        self.target = target
        self.batch = int(batch)  # rows per compiled call
        self._target_N = np.asarray(target.friction_N, dtype=np.float64)
        self._mask = np.asarray(target.mask, dtype=bool)
        self.evaluations = 0

    def laws(self, unit: np.ndarray, seeds) -> np.ndarray:
        """float32-path laws (P, 128) [N] of designs θ = from_unit(unit) (P, 23) realised with `seeds`
        (P,) or one int seed; counted in `evaluations`."""
        theta = from_unit(np.clip(np.asarray(unit, dtype=np.float64).reshape(-1, THETA_SIZE), 0.0, 1.0))
        self.evaluations += theta.shape[0]
        return simulate_fast(theta, self.target.N, seeds, block=self.batch)

    def errors_of(self, laws: np.ndarray) -> np.ndarray:
        """Masked sMAPE [%] of laws (P, 128) against the target; 200 (the maximum) where not finite."""
        return errors_percent(laws, self._target_N, self._mask)

    def errors(self, unit: np.ndarray, seeds) -> np.ndarray:
        """Errors [%] of designs θ = from_unit(unit) (P, 23) realised with `seeds` (P,) or one int seed."""
        return self.errors_of(self.laws(unit, seeds))

    def rank(self, unit: np.ndarray, seeds) -> tuple[np.ndarray, np.ndarray]:
        """Proposals (P, 23) in the unit box ranked the studio's one way (studio.physics.ranking.rank:
        τ0 and B, which enter the law linearly, solved exactly for each one's realisation):
        (the fitted proposals in the unit box, their errors [%]), in the order given."""
        theta = from_unit(np.clip(np.asarray(unit, dtype=np.float64).reshape(-1, THETA_SIZE), 0.0, 1.0))
        self.evaluations += theta.shape[0]
        r = rank(theta, self.target.N, seeds, self._target_N, self._mask, fit=True, block=self.batch)
        return np.clip(to_unit(r.theta), 0.0, 1.0), r.errors_percent


def polish(target: Target, unit: np.ndarray, seed: int, *, max_steps: int = 40, chunk: int = 5):
    """Bounded least squares (scipy's trust-region reflective) on the continuous θ entries, seed fixed.

    A generator: runs `chunk` function evaluations at a time and yields (unit θ, cost, evaluations)
    after each chunk, so the caller can check its job control and clock in between; stops after
    `max_steps` trust-region steps or on convergence and returns the unit θ reached.
    cost = ½ Σ (log F − log F_target)² over the masked loads.
    """
    from scipy.optimize import least_squares

    width = bucket_width(target.N)
    fixed = jnp.asarray(np.clip(np.asarray(unit, dtype=np.float64), 0.0, 1.0))
    args = (fixed, jnp.asarray(target.N), jnp.asarray(int(seed)), jnp.asarray(np.log(target.friction_N)),
            jnp.asarray(target.mask))

    def residual(free):
        r = np.asarray(_residual(jnp.asarray(free), *args, width=width))
        return np.where(np.isfinite(r), r, 1e3)

    def jacobian(free):
        J = np.asarray(_jacobian(jnp.asarray(free), *args, width=width))
        return np.where(np.isfinite(J), J, 0.0)

    x = np.asarray(fixed)[CONTINUOUS_IDX]
    evaluations = steps = 0  # laws simulated (a Jacobian counts one per entry); trust-region steps taken
    while steps < max_steps:
        res = least_squares(residual, x, jac=jacobian, bounds=(0.0, 1.0), method="trf", x_scale="jac",
                            max_nfev=min(chunk, max_steps - steps))
        steps += res.nfev
        evaluations += res.nfev + res.njev * len(CONTINUOUS_IDX)
        x = np.clip(res.x, 0.0, 1.0)
        yield _full(fixed, x), float(res.cost), evaluations
        if res.status > 0:  # converged (ftol / xtol / gtol)
            break
    return _full(fixed, x)


def _full(fixed, free) -> np.ndarray:
    out = np.array(fixed, dtype=np.float64)
    out[CONTINUOUS_IDX] = free
    return out
