"""Fitting RSF parameters to a measured record: least squares with the JAX Jacobian.

    fit(record, law=..., mode=..., fix={...}) -> FitResult
    fit_steps(...)  the same as a job (studio.jobs): yields FitProgress (plain objects) once per
                    iteration and returns the FitResult; `control` (a JobControl) pauses it or
                    cancels it (Cancelled) between iterations, so `studio.jobs.drive`, a worker
                    process (EngineProcessPool.run_job) or a GUI thread runs it; `cancel()`
                    returning True instead stops it with the best point so far.

Parameters: mu0, a, b, Dc_m; k_per_m in spring mode; b2, Dc2_m with a second state variable;
trend_per_m with detrending (a linear trend in μ per metre of displacement, fitted jointly:
pre-detrending the record would bias a − b). Any of them can be fixed. V0 is not fitted: it
defines μ0 (default: the record's initial velocity). Radiation damping is not fitted (η = 0).

Method.
1. Start. In imposed mode μ is linear in (μ0, a, b, b2, trend) once Dc is given, so for each Dc on a
   geometric grid spanning the record's slip resolution to its slip those are solved exactly by
   linear least squares (variable projection) and the best Dc is kept: no guess needed. In spring
   mode that imposed-mode fit (slider velocity taken as the load point's) gives μ0, a, b, Dc, and k
   is the best of a grid of stiffnesses around a/Dc, all simulated in one batched call.
2. Levenberg–Marquardt in (μ0, a, b, ln Dc, ln k, ...) with Marquardt scaling; residuals and the
   Jacobian come from one jax.jacfwd pass (diffrax ForwardMode in spring mode).
3. Intervals: covariance s²·(JᵀJ)⁻¹ with J the Jacobian in the physical parameters at the optimum and
   s² = SSR/(n − p); reported as 2σ (as RSFit3000 does), a − b with var(a) + var(b) − 2cov(a, b).
A fit that does not converge says so (converged False, message) and returns its best point and cost.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterator, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from studio.dynamics.law import RsfParams, check_law, imposed_velocity, imposed_velocity_batch
from studio.dynamics.protocol import Protocol
from studio.dynamics.simulate import check_mode
from studio.errors import StudioError
from studio.jobs import drive
from studio.physics.friction import require_float64

PARAMETERS = ("mu0", "a", "b", "Dc_m", "k_per_m", "b2", "Dc2_m", "trend_per_m")
LOG_SCALED = ("Dc_m", "k_per_m", "Dc2_m")  # positive, spanning decades: fitted in log
JSON_KEYS = {"k_per_m": "k"}  # the key for the stiffness (1/m)
DC_GRID_POINTS = 41
K_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # × a/Dc, the stiffness at which the spring competes with a
MIN_POINTS_AFTER_STEP = 5


class FitError(StudioError, ValueError):
    """A record or option the fit cannot use; the message names the file and line or the parameter."""


@dataclass
class Record:
    """A measured (or simulated) record to fit.

    times_s (N,) from 0; mu (N,) measured friction coefficient; protocol: the imposed velocity as
    segments (the slider's in imposed mode, the load point's in spring mode), starting at steady state;
    source: file name for messages; lines (N,): the file line of each sample (0: none).
    """

    times_s: np.ndarray
    mu: np.ndarray
    protocol: Protocol
    source: str = "record"
    lines: np.ndarray | None = None
    notes: list = field(default_factory=list)

    def where(self, sample: int) -> str:
        """`source, line N` of a sample for messages (just the source without line numbers)."""
        sample = min(max(sample, 0), len(self.times_s) - 1)
        return f"{self.source}, line {int(self.lines[sample])}" if self.lines is not None else self.source


@dataclass
class FitProgress:
    """One iteration of a fit: plain values for a progress bar or a live plot."""

    iteration: int
    evaluations: int
    cost: float
    values: dict
    stage: str
    elapsed_s: float
    message: str = ""


@dataclass
class FitResult:
    """values: every parameter (fitted and fixed); two_sigma: 2σ of the fitted ones (None for fixed);
    cost = ½·Σ residual²; residual_rms; r2; converged and message say how it ended."""

    values: dict
    two_sigma: dict
    a_minus_b: float
    a_minus_b_2sigma: float | None
    r2: float
    residual_rms: float
    cost: float
    converged: bool
    iterations: int
    evaluations: int
    message: str
    n_points: int
    law: str
    mode: str
    V0_m_s: float
    fixed: tuple
    elapsed_s: float
    mu_fit: np.ndarray | None = None

    def to_json(self) -> dict:
        """The CLI's JSON line: values keyed mu0, a, b, Dc_m (k, b2, Dc2_m, trend_per_m), each with _2sigma."""
        out = {}
        for name, value in self.values.items():
            key = JSON_KEYS.get(name, name)
            out[key] = value
            out[f"{key}_2sigma"] = self.two_sigma.get(name)
        out.update({"a_minus_b": self.a_minus_b, "a_minus_b_2sigma": self.a_minus_b_2sigma, "r2": self.r2,
                    "residual": self.residual_rms, "cost": self.cost, "converged": self.converged,
                    "iterations": self.iterations, "n_points": self.n_points, "law": self.law, "mode": self.mode,
                    "V0_m_s": self.V0_m_s, "fixed": list(self.fixed), "message": self.message,
                    "elapsed_s": round(self.elapsed_s, 4)})
        return out


class _Data(NamedTuple):
    durations_s: jax.Array
    velocities_m_s: jax.Array
    times_s: jax.Array
    initial_velocity_m_s: jax.Array
    hold_velocity_m_s: jax.Array
    displacement_m: jax.Array
    mu: jax.Array
    V0_m_s: jax.Array


def _params(full, data: _Data, spring: bool, two_states: bool) -> RsfParams:
    return RsfParams(mu0=full[0], a=full[1], b=full[2], Dc_m=full[3], V0_m_s=data.V0_m_s,
                     k_per_m=full[4] if spring else None, b2=full[5] if two_states else None,
                     Dc2_m=full[6] if two_states else None)


def _predict(full, data: _Data, *, mode: str, law: str, two_states: bool, detrend: bool):
    """(μ at the record's times, solver ok) for a full parameter vector (PARAMETERS order)."""
    p = _params(full, data, mode == "spring", two_states)
    if mode == "imposed":
        mu = imposed_velocity(p, data.durations_s, data.velocities_m_s, data.times_s, data.initial_velocity_m_s,
                              law=law, hold_velocity_m_s=data.hold_velocity_m_s).mu
        ok = jnp.array(True)
    else:
        from studio.dynamics.spring import spring_slider  # diffrax: imported when spring mode is used

        run = spring_slider(p, data.durations_s, data.velocities_m_s, data.times_s, data.initial_velocity_m_s,
                            law=law, forward=True)
        mu, ok = run.mu, run.ok
    if detrend:
        mu = mu + full[7] * data.displacement_m
    return mu, ok


def _to_full(z, base, free: tuple):
    """Internal vector z (log for LOG_SCALED) → full physical vector."""
    values = jnp.stack([jnp.exp(z[i]) if PARAMETERS[j] in LOG_SCALED else z[i] for i, j in enumerate(free)])
    return base.at[jnp.array(free)].set(values)


@partial(jax.jit, static_argnames=("free", "mode", "law", "two_states", "detrend"))
def _residuals_and_jacobian(z, base, data, *, free, mode, law, two_states, detrend):
    def residual(z):
        mu, ok = _predict(_to_full(z, base, free), data, mode=mode, law=law, two_states=two_states,
                          detrend=detrend)
        r = mu - data.mu
        return r, (r, ok)
    J, (r, ok) = jax.jacfwd(residual, has_aux=True)(z)
    return r, J, ok


def fit(record: Record, **options) -> FitResult:
    """Run fit_steps to the end (studio.jobs.drive) and return its FitResult."""
    return drive(fit_steps(record, **options))


def fit_steps(record: Record, *, law: str = "aging", mode: str = "imposed", fix: dict | None = None,
              initial: dict | None = None, detrend: bool = False, two_states: bool = False,
              V0_m_s: float | None = None, max_iterations: int = 200,
              xtol: float = 1e-10, ftol: float = 1e-14, gtol: float = 1e-10,
              cancel: Callable[[], bool] | None = None, control=None) -> Iterator[FitProgress]:
    """Fit (module docstring); yields FitProgress per iteration, returns FitResult."""
    require_float64()  # the Jacobian and the residuals are float64
    started = time.perf_counter()
    check_law(law)
    check_mode(mode)
    fix = dict(fix or {})
    names = [n for n in PARAMETERS if (n != "k_per_m" or mode == "spring") and (n not in ("b2", "Dc2_m")
             or two_states) and (n != "trend_per_m" or detrend)]
    for name, value in fix.items():
        if name not in names:
            raise FitError(f"--fix {name}: not a parameter of this fit; parameters are {', '.join(names)}")
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise FitError(f"--fix {name}={value!r}: not a finite number")
        if name in LOG_SCALED and value <= 0:
            raise FitError(f"--fix {name}={value!r}: must be > 0")
    free = tuple(PARAMETERS.index(n) for n in names if n not in fix)
    data, V0 = _record_data(record, V0_m_s)
    _check_record(record, free, len(data.mu))
    options = dict(mode=mode, law=law, two_states=two_states, detrend=detrend)

    base = np.zeros(len(PARAMETERS))
    base[[PARAMETERS.index(n) for n in ("Dc_m", "k_per_m", "Dc2_m")]] = 1.0  # unused slots stay harmless
    for name, value in fix.items():
        base[PARAMETERS.index(name)] = float(value)
    yield FitProgress(0, 0, math.nan, {}, "initial search", time.perf_counter() - started, "searching a start")
    start = _initial_point(record, data, base, free, options, initial or {})
    base = start.copy()
    z = np.array([math.log(start[j]) if PARAMETERS[j] in LOG_SCALED else start[j] for j in free])
    if any(PARAMETERS[j] in LOG_SCALED and not start[j] > 0 for j in free) or not np.all(np.isfinite(z)):
        raise FitError(f"{record.source}: no usable starting point (the record does not constrain the parameters)")

    def evaluate(z):
        r, J, ok = _residuals_and_jacobian(jnp.asarray(z), jnp.asarray(base), data, free=free, **options)
        r, J = np.asarray(r, np.float64), np.asarray(J, np.float64)
        if not bool(ok) or not np.all(np.isfinite(r)) or not np.all(np.isfinite(J)):
            return None, None, math.inf
        return r, J, 0.5 * float(r @ r)

    r, J, cost = evaluate(z)
    evaluations = 1
    if r is None:
        values = dict(zip(PARAMETERS, start))
        raise FitError(f"{record.source}: the model cannot be evaluated at the starting point "
                       f"({_describe(values, names)}): solver failure")
    damping, nu = 1e-3, 2.0
    converged, message, iteration = False, "", 0
    for iteration in range(1, max_iterations + 1):
        if control is not None:
            control.checkpoint()  # the job contract: blocks while paused, raises Cancelled
        if cancel is not None and cancel():
            message = f"cancelled after {iteration - 1} iterations"
            break
        A, g = J.T @ J, J.T @ r
        scale = np.maximum(np.diag(A), 1e-30 * max(np.max(np.diag(A)), 1e-300))
        # MINPACK's gradient test: the residual is orthogonal to every Jacobian column
        if cost <= 1e-28 * len(r) or np.max(np.abs(g) / np.sqrt(scale)) <= gtol * math.sqrt(2.0 * cost):
            converged = True
            break
        step = _damped_step(J, r, scale, damping)
        trial = z + step
        r_new, J_new, cost_new = evaluate(trial)
        evaluations += 1
        predicted = 0.5 * float(step @ (damping * scale * step - g))
        rho = (cost - cost_new) / predicted if predicted > 0 else -1.0
        if r_new is not None and cost_new <= cost:
            reduction = cost - cost_new
            z, r, J, cost = trial, r_new, J_new, cost_new
            damping *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3) if rho > 0 else 1.0
            nu = 2.0
            small_step = np.linalg.norm(np.sqrt(scale) * step) <= xtol * (np.linalg.norm(np.sqrt(scale) * z) + xtol)
            converged = bool(small_step or (reduction <= ftol * cost and abs(predicted) <= ftol * cost))
        else:
            damping *= nu
            nu *= 2.0
            if damping > 1e20:
                message = "the damped step no longer reduces the cost"
                break
        values = dict(zip(PARAMETERS, np.asarray(_to_full(jnp.asarray(z), jnp.asarray(base), free))))
        yield FitProgress(iteration, evaluations, cost, {n: float(values[n]) for n in names}, "least squares",
                          time.perf_counter() - started)
        if converged:
            break
    result = _result(record, data, z, base, free, names, r, J, cost, converged, iteration, evaluations, message,
                     options, V0, started, max_iterations, fix)
    _check_constrained(record, result, free)
    return result


def _damped_step(J, r, scale, damping):
    """Solve min ‖J·h + r‖² + damping·Σ scale·h² by least squares on the stacked system (stable)."""
    p = J.shape[1]
    stacked = np.vstack([J, np.diag(np.sqrt(damping * scale))])
    rhs = np.concatenate([-r, np.zeros(p)])
    return np.linalg.lstsq(stacked, rhs, rcond=None)[0]


def _record_data(record: Record, V0_m_s):
    pr = record.protocol
    V0 = float(V0_m_s) if V0_m_s is not None else pr.start_velocity_m_s
    if not (math.isfinite(V0) and V0 > 0):
        raise FitError(f"reference velocity V0 = {V0!r} m/s must be > 0")
    times = np.asarray(record.times_s, np.float64)
    displacement = pr.displacement_at(times)
    data = _Data(jnp.asarray(pr.durations_s), jnp.asarray(pr.velocities_m_s), jnp.asarray(times),
                 jnp.asarray(pr.start_velocity_m_s), jnp.asarray(pr.hold_velocity_m_s),
                 jnp.asarray(displacement - displacement[0]), jnp.asarray(np.asarray(record.mu, np.float64)),
                 jnp.asarray(V0))
    return data, V0


def _check_record(record: Record, free: tuple, n: int) -> None:
    if n < len(free) + 2:
        raise FitError(f"{record.source}: {n} samples cannot constrain {len(free)} parameters")
    v = record.protocol.velocities_m_s
    changes = np.flatnonzero(v[1:] != v[:-1])
    needs_step = any(PARAMETERS[j] in ("b", "Dc_m", "b2", "Dc2_m") for j in free)
    if needs_step and not changes.size:
        raise FitError(f"{record.source}: the velocity never changes, so a, b and Dc cannot be told apart; "
                       "the record needs a velocity step or a hold")
    if changes.size:
        step_time = float(np.sum(record.protocol.durations_s[:changes[0] + 1]))
        after = int(np.sum(np.asarray(record.times_s) > step_time))
        if needs_step and after < MIN_POINTS_AFTER_STEP:
            first = int(np.searchsorted(record.times_s, step_time))
            raise FitError(f"{record.where(first)}: only {after} samples after "
                           f"the first velocity change; at least {MIN_POINTS_AFTER_STEP} are needed to constrain Dc")


def _initial_point(record, data, base, free, options, initial):
    """Full parameter vector to start Levenberg–Marquardt from (module docstring, step 1)."""
    start = base.copy()
    names = [PARAMETERS[j] for j in free]
    if all(n in initial for n in names):
        for n in names:
            start[PARAMETERS.index(n)] = float(initial[n])
        return start
    start = _variable_projection(record, data, start, free, options)
    if options["mode"] == "spring" and PARAMETERS.index("k_per_m") in free:
        start = _best_stiffness(data, start, options)
    for n, value in initial.items():
        start[PARAMETERS.index(n)] = float(value)
    return start


def _variable_projection(record, data, start, free, options):
    """Imposed-mode start: for each Dc of a grid, the linear parameters by linear least squares."""
    law, two_states, detrend = options["law"], options["two_states"], options["detrend"]
    i_dc, i_dc2 = PARAMETERS.index("Dc_m"), PARAMETERS.index("Dc2_m")
    times = np.asarray(data.times_s)
    slip = record.protocol.displacement_at(times)
    steps = np.diff(slip)
    resolution = max(float(np.min(steps[steps > 0])) if np.any(steps > 0) else 1e-9, 1e-12)
    span = max(float(slip[-1] - slip[0]), resolution * 10)
    dc_grid = np.geomspace(resolution / 3, span, DC_GRID_POINTS) if i_dc in free else np.array([start[i_dc]])
    if two_states:
        dc2 = np.array([start[i_dc2]]) if i_dc2 not in free else None
        pairs = [(d, d2) for d in dc_grid for d2 in ((d * 10, d * 100) if dc2 is None else dc2)]
    else:
        pairs = [(d, 1.0) for d in dc_grid]
    dcs = np.array(pairs)
    B = len(dcs)
    # θ-terms for unit b (and b2): μ with mu0 = a = 0, b = 1 (b2 = 1) gives ln(V0·θ/Dc) (+ the second)
    unit = RsfParams(mu0=np.zeros(B), a=np.zeros(B), b=np.ones(B), Dc_m=dcs[:, 0], V0_m_s=np.full(B, float(data.V0_m_s)),
                     b2=np.zeros(B) if two_states else None, Dc2_m=dcs[:, 1] if two_states else None)
    arrays = [np.broadcast_to(np.asarray(a), (B,) + np.shape(a)) for a in
              (data.durations_s, data.velocities_m_s, data.times_s, data.initial_velocity_m_s,
               data.hold_velocity_m_s)]
    run = imposed_velocity_batch(unit, *arrays, law=law)
    theta_term = np.asarray(run.mu)
    log_v = np.log(np.asarray(run.velocity_m_s)[0] / float(data.V0_m_s))
    theta2_term = None
    if two_states:
        unit2 = unit._replace(b=np.zeros(B), b2=np.ones(B))
        theta2_term = np.asarray(imposed_velocity_batch(unit2, *arrays, law=law).mu)
    mu = np.asarray(data.mu)
    displacement = np.asarray(data.displacement_m)
    best = (math.inf, None)
    for row in range(B):
        columns = {"mu0": np.ones_like(mu), "a": log_v, "b": theta_term[row], "trend_per_m": displacement}
        if two_states:
            columns["b2"] = theta2_term[row]
        if not detrend:
            columns.pop("trend_per_m")
        target = mu.copy()
        fitted = []
        for name, column in columns.items():
            if PARAMETERS.index(name) in free:
                fitted.append(name)
            else:
                target = target - start[PARAMETERS.index(name)] * column
        if fitted:
            M = np.stack([columns[n] for n in fitted], axis=1)
            coef = np.linalg.lstsq(M, target, rcond=None)[0]
            residual = target - M @ coef
        else:
            coef, residual = np.zeros(0), target
        cost = float(residual @ residual)
        if math.isfinite(cost) and cost < best[0]:
            best = (cost, (row, dict(zip(fitted, coef))))
    if best[1] is None:
        return start
    row, coef = best[1]
    start = start.copy()
    for name, value in coef.items():
        start[PARAMETERS.index(name)] = value
    start[i_dc] = dcs[row, 0]
    if two_states:
        start[i_dc2] = dcs[row, 1]
    # a and b below zero are not RSF; start them small and positive and let the fit decide
    for name in ("a", "b"):
        i = PARAMETERS.index(name)
        if i in free and start[i] <= 0:
            start[i] = 1e-4
    return start


def _best_stiffness(data, start, options):
    """Spring-mode start: the best k of K_GRID × a/Dc, simulated in one batch."""
    i_k, i_a, i_dc = (PARAMETERS.index(n) for n in ("k_per_m", "a", "Dc_m"))
    ks = np.array(K_GRID) * max(start[i_a], 1e-4) / start[i_dc]
    B = len(ks)
    full = np.repeat(start[None], B, axis=0)
    full[:, i_k] = ks
    p = _params(full.T, data, True, options["two_states"])
    arrays = [np.broadcast_to(np.asarray(a), (B,) + np.shape(a)) for a in
              (data.durations_s, data.velocities_m_s, data.times_s, data.initial_velocity_m_s)]
    from studio.dynamics.spring import spring_slider_batch  # diffrax: imported when spring mode is used

    run = spring_slider_batch(p.broadcast(B), *arrays, law=options["law"])
    mu = np.asarray(run.mu)
    if options["detrend"]:
        mu = mu + full[:, [PARAMETERS.index("trend_per_m")]] * np.asarray(data.displacement_m)[None]
    cost = np.where(np.asarray(run.ok), np.sum((mu - np.asarray(data.mu)[None]) ** 2, axis=1), np.inf)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    start = start.copy()
    start[i_k] = ks[int(np.argmin(cost))]
    return start


def _result(record, data, z, base, free, names, r, J, cost, converged, iterations, evaluations, message, options,
            V0, started, max_iterations, fix) -> FitResult:
    full = np.asarray(_to_full(jnp.asarray(z), jnp.asarray(base), free), np.float64)
    values = {n: float(full[PARAMETERS.index(n)]) for n in names}
    # Jacobian in the physical parameters: ∂r/∂x = ∂r/∂(ln x) / x for the log-scaled ones
    J_phys = J / np.array([full[j] if PARAMETERS[j] in LOG_SCALED else 1.0 for j in free])[None, :]
    n, p = len(r), len(free)
    s2 = 2.0 * cost / max(n - p, 1)
    # columns scaled to unit norm first: ∂r/∂Dc and ∂r/∂k differ by ~1e9, beyond pinv's cut-off
    norms = np.linalg.norm(J_phys, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    scaled = J_phys / norms[None, :]
    covariance = s2 * np.linalg.pinv(scaled.T @ scaled) / np.outer(norms, norms)
    sigma = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    two_sigma = {n_: None for n_ in names}
    for i, j in enumerate(free):
        two_sigma[PARAMETERS[j]] = float(2.0 * sigma[i])
    i_a = free.index(PARAMETERS.index("a")) if PARAMETERS.index("a") in free else None
    i_b = free.index(PARAMETERS.index("b")) if PARAMETERS.index("b") in free else None
    var = (covariance[i_a, i_a] if i_a is not None else 0.0) + (covariance[i_b, i_b] if i_b is not None else 0.0)
    if i_a is not None and i_b is not None:
        var -= 2.0 * covariance[i_a, i_b]
    amb_2sigma = float(2.0 * math.sqrt(max(var, 0.0))) if (i_a is not None or i_b is not None) else None
    mu = np.asarray(data.mu)
    sst = float(np.sum((mu - mu.mean()) ** 2))
    r2 = 1.0 - 2.0 * cost / sst if sst > 0 else float("nan")
    if not converged and not message:
        message = f"did not converge in {max_iterations} iterations"
    if not converged:
        message += f"; best point returned, cost {cost:.6g}"
    return FitResult(values, two_sigma, values["a"] - values["b"], amb_2sigma, r2, math.sqrt(2.0 * cost / n), cost,
                     converged, iterations, evaluations, message or "converged", n, options["law"], options["mode"],
                     V0, tuple(fix), time.perf_counter() - started, mu_fit=mu + r)


def _check_constrained(record: Record, result: FitResult, free: tuple) -> None:
    """Refuse a Dc longer than the slip the record shows after its first velocity change."""
    if PARAMETERS.index("Dc_m") not in free:
        return
    pr = record.protocol
    v = pr.velocities_m_s
    changes = np.flatnonzero(v[1:] != v[:-1])
    step_time = float(np.sum(pr.durations_s[:changes[0] + 1]))
    slip_after = float(pr.displacement_at(np.asarray(record.times_s[-1:]))[0] - pr.displacement_at(
        np.array([step_time]))[0])
    Dc = result.values["Dc_m"]
    if Dc > slip_after:
        first = int(np.searchsorted(record.times_s, step_time))
        raise FitError(f"{record.where(first)}: fitted "
                       f"Dc_m = {Dc:.3g} m is longer than the {slip_after:.3g} m of slip recorded after the first "
                       "velocity change: the record is too short to constrain Dc (record more slip, or fix it "
                       "with --fix Dc_m=VALUE)")


def _describe(values: dict, names) -> str:
    return ", ".join(f"{n}={values[n]:.4g}" for n in names)


__all__ = ["PARAMETERS", "FitError", "Record", "FitProgress", "FitResult", "fit", "fit_steps"]
