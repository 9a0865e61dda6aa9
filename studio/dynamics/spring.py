"""The spring-slider: a load point pulled at a piecewise-constant velocity through a spring of
stiffness k (μ per metre, i.e. stiffness over normal stress), integrated with diffrax.

    μ_spring = μ(V, θ) + η·V              (η: radiation damping over normal stress, s/m)
    dμ_spring/dt = k·(V_lp(t) − V)

Differentiating the friction law gives an ODE for the slider velocity V, the state θ and
the slip δ. It is solved one segment at a time (the load point's velocity jumps only at
segment boundaries, so each solve is smooth and the solver steps exactly to every jump),
in variables chosen so that steady sliding is exactly representable:
    u = ln(V / V_ref)   V_ref = the segment's load-point velocity (a hold: V at its start)
    φ = ln(V·θ / Dc)    0 at steady state [φ2 likewise with a second state]
    s = δ / Dc          the slip is part of the ODE state
    du/dt = (k·(V_lp − V_ref) − k·V_ref·expm1(u) − b·r − b2·r2) / (a + η·V)
    dφ/dt = du/dt + r,  r = d lnθ/dt = (V/Dc)·expm1(−φ) (aging) or −(V/Dc)·φ (slip)
    ds/dt = V / Dc
Written with ln V and ln θ instead, k·(V_lp − V) is a difference of two nearly equal numbers;
the solver then sees its round-off amplified by k·V/a (up to 1e3–1e4 /s) and crawls (one steady
sliding case in float32: over 4000 steps for 39 s instead of 15; docs/dynamics.md). The slip in the state means no displacement integrated after the
solve, and μ_spring(t) − μ_spring(0) = k·(δ_lp(t) − δ(t)) holds to the solver's tolerance (tested).

The interface starts at steady state at the protocol's initial velocity. V_lp = 0 (a hold) is a
true hold: the slider creeps while the spring relaxes.

Solvers (diffrax ESDIRK, L-stable, each stage solved by a full Newton method: the frozen-Jacobian
VeryChord default took ~10× more steps, median 7558 against 775 over 64 random protocols):
    float64 reference  Kvaerno5, rtol 1e-10, atol 1e-12
    float32 fast path  Kvaerno3, rtol 1e-5, atol 1e-5 (tighter stalls on float32 round-off)
Gradients: reverse mode (jax.grad) with diffrax's checkpointed adjoint by default;
`forward=True` uses diffrax.ForwardMode for jax.jacfwd (what the least-squares fit uses:
5 parameters, thousands of residuals).
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import optimistix as optx

from studio.dynamics.law import RsfParams, friction_log, segment_index

TOLERANCES = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-5)}
SOLVERS = {"float64": diffrax.Kvaerno5, "float32": diffrax.Kvaerno3}
MAX_STEPS = 16384  # per segment: headroom (random 100 s protocols needed at most ~2600 in all at 1e-10)


class SpringRun(NamedTuple):
    """A spring-slider simulation at the sample times.

    mu: the spring's μ (what a load cell reads: friction + η·V); velocity_m_s: the slider's;
    log_theta [ln s] (log_theta2 with a second state, else None); slip_m: slider displacement;
    load_point_m: load-point displacement; ok: False where the solver failed (max steps, step
    size underflow): those rows are not to be trusted; steps: solver steps taken (accepted and rejected).
    """

    mu: jax.Array
    velocity_m_s: jax.Array
    log_theta: jax.Array
    slip_m: jax.Array
    load_point_m: jax.Array
    ok: jax.Array
    steps: jax.Array
    log_theta2: jax.Array | None = None


def _vector_field(law: str):
    """The ODE in y = (u, φ [, φ2], δ/Dc) on one segment; args = (params, v_lp, v_ref)."""
    def field(t, y, args):
        p, v_lp, v_ref = args
        log_V = y[0] + jnp.log(v_ref)
        V = jnp.exp(log_V)
        rate = _log_state_rate(law, V, log_V, y[1], p.Dc_m)
        # k·(V_lp − V) split so that steady sliding (v_ref = V_lp, u = 0) has no cancellation
        push = p.k_per_m * (v_lp - v_ref) - p.k_per_m * v_ref * jnp.expm1(y[0]) - p.b * rate
        if p.two_states:
            rate2 = _log_state_rate(law, V, log_V, y[2], p.Dc2_m)
            du = (push - p.b2 * rate2) / (p.a + p.eta_s_per_m * V)
            return jnp.stack([du, du + rate, du + rate2, V / p.Dc_m])
        du = push / (p.a + p.eta_s_per_m * V)
        return jnp.stack([du, du + rate, V / p.Dc_m])
    return field


def _log_state_rate(law: str, V, log_V, phi, Dc_m):
    """d(ln θ)/dt from φ = ln(V·θ/Dc): aging (V/Dc)·(e^{−φ} − 1), slip −(V/Dc)·φ (exact at φ = 0)."""
    if law == "slip":
        return -(V / Dc_m) * phi
    # far below steady state (a long hold: θ ≫ Dc/V) e^{−φ} overflows float32 while V/Dc underflows;
    # 1/θ = exp(ln V − ln Dc − φ) then carries the rate (no cancellation to avoid there)
    far = phi < -20.0
    near = (V / Dc_m) * jnp.expm1(-jnp.where(far, 0.0, phi))
    return jnp.where(far, jnp.exp(log_V - jnp.log(Dc_m) - phi) - V / Dc_m, near)


def spring_slider(p: RsfParams, durations_s, velocities_m_s, times_s, initial_velocity_m_s, *,
                  law: str = "aging", forward: bool = False, max_steps: int = MAX_STEPS,
                  tolerances: tuple[float, float] | None = None) -> SpringRun:
    """One spring-slider protocol: load-point segments (durations_s (S,), velocities_m_s (S,)),
    samples at times_s (T,, non-decreasing, ≥ 0), steady state at initial_velocity_m_s.
    The dtype of the inputs picks solver and tolerances (SOLVERS, TOLERANCES) unless
    `tolerances` = (rtol, atol) is given. max_steps is per segment."""
    dtype = jnp.result_type(p.a, durations_s, times_s)
    precision = "float64" if dtype == jnp.float64 else "float32"
    rtol, atol = tolerances or TOLERANCES[precision]
    solver = SOLVERS[precision](root_finder=optx.Newton(rtol=rtol, atol=atol))
    controller = diffrax.PIDController(rtol=rtol, atol=atol)
    adjoint = diffrax.ForwardMode() if forward else diffrax.RecursiveCheckpointAdjoint()
    term = diffrax.ODETerm(_vector_field(law))
    index, tau, starts = segment_index(durations_s, times_s)
    zero = jnp.zeros((), dtype)
    n_state = 4 if p.two_states else 3

    def segment(carry, k):
        y, v_ref_before, failed, steps = carry
        v_lp = velocities_m_s[k]
        V = v_ref_before * jnp.exp(y[0])
        v_ref = jnp.where(v_lp > 0, v_lp, V)  # a hold has no load-point velocity: refer to V at its start
        y = y.at[0].set(y[0] + jnp.log(v_ref_before / v_ref))
        end = jnp.maximum(durations_s[k], jnp.finfo(dtype).tiny)  # padding segments: a zero-length solve
        local = jnp.clip(times_s - starts[k], 0, end)  # this segment's samples in its own clock
        solution = diffrax.diffeqsolve(term, solver, zero, end, None, y, args=(p, v_lp, v_ref),
                                       saveat=diffrax.SaveAt(ts=local, t1=True), stepsize_controller=controller,
                                       max_steps=max_steps, throw=False, adjoint=adjoint)
        saved = jnp.concatenate([solution.ys[:-1, :1] + jnp.log(v_ref), solution.ys[:-1, 1:]], axis=1)
        failed = failed | (solution.result != diffrax.RESULTS.successful)
        return (solution.ys[-1], v_ref, failed, steps + solution.stats["num_steps"]), saved

    v_init = jnp.asarray(initial_velocity_m_s, dtype)
    y0 = jnp.zeros((n_state,), dtype)  # u = 0 (V = v_init), φ = 0 (steady state), no slip yet
    carry = (y0, v_init, jnp.zeros((), bool), jnp.zeros((), jnp.int32))
    (_, _, failed, steps), saved = jax.lax.scan(segment, carry, jnp.arange(durations_s.shape[0]))
    y = saved[index, jnp.arange(times_s.shape[0])]  # each sample from the segment it lies in
    log_V = y[:, 0]
    V = jnp.exp(log_V)
    log_theta = y[:, 1] - log_V + jnp.log(p.Dc_m)
    log_theta2 = y[:, 2] - log_V + jnp.log(p.Dc2_m) if p.two_states else None
    mu = friction_log(p, log_V, log_theta, log_theta2) + p.eta_s_per_m * V
    lp_at_start = jnp.cumsum(velocities_m_s * durations_s) - velocities_m_s * durations_s
    load_point = lp_at_start[index] + velocities_m_s[index] * tau
    ok = ~failed & jnp.all(jnp.isfinite(y)) & jnp.all(jnp.isfinite(mu))
    return SpringRun(mu, V, log_theta, y[:, -1] * p.Dc_m, load_point, ok, steps, log_theta2)


@partial(jax.jit, static_argnames=("law", "forward", "tolerances", "max_steps"))
def spring_slider_batch(p: RsfParams, durations_s, velocities_m_s, times_s, initial_velocity_m_s, *,
                        law: str = "aging", forward: bool = False, tolerances=None,
                        max_steps: int = MAX_STEPS) -> SpringRun:
    """spring_slider over a batch: protocol arrays (B, S), (B, S), (B, T), (B,); each parameter field a
    scalar or (B,). Lanes step in lock-step, so a batch costs about its slowest protocol's steps per segment."""
    one = partial(spring_slider, law=law, forward=forward, tolerances=tolerances, max_steps=max_steps)
    p = p.broadcast(durations_s.shape[0])
    return jax.vmap(one)(p, durations_s, velocities_m_s, times_s, initial_velocity_m_s)


__all__ = ["TOLERANCES", "SOLVERS", "MAX_STEPS", "SpringRun", "spring_slider", "spring_slider_batch"]
