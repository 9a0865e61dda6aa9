"""Rate-and-state friction (RSF): the law, its two evolution laws, and exact imposed-velocity solutions.

    μ = μ0 + a·ln(V/V0) + b·ln(V0·θ/Dc)            [+ b2·ln(V0·θ2/Dc2) with a second state]
    aging law   dθ/dt = 1 − V·θ/Dc
    slip law    dθ/dt = −(V·θ/Dc)·ln(V·θ/Dc)

Units: V, V0 in m/s; Dc in m; θ in s; μ, a, b dimensionless. The state is carried as ln θ
(θ spans 1e-3 s while sliding fast to 1e6 s after long holds; its log is what μ uses and
keeps float32 well inside its range).

Closed forms at constant V over a time τ (x = V·τ/Dc, the slip in units of Dc):
    aging   θ(τ) = θss + (θ0 − θss)·e^{−x},  θss = Dc/V, written τ·(1 − e^{−x})/x + θ0·e^{−x}
            so a hold (V → 0, x → 0) gives θ0 + τ without cancellation;
    slip    ln(V·θ/Dc) decays as e^{−x}:  ln θ(τ) = ln θ0 + ln(V·θ0/Dc)·(e^{−x} − 1), and θ stays
            put at V = 0 (the slip law does not heal at rest).
Both are exact, so an imposed-velocity protocol (piecewise constant V) needs no ODE solver:
one scan over its segments gives the state at each segment start, one more closed-form step
gives it at any sample time.

Everything here is a pure function of arrays: jax.vmap batches it, jax.grad / jax.jacfwd
differentiate it in (μ0, a, b, Dc), and the dtype of the inputs is the dtype of the result.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

LAWS = ("aging", "slip")
# Imposed mode cannot slide at exactly V = 0 (ln V in μ); a hold is computed at this slider
# velocity unless the protocol names its own (2e-9 m/s is what the GRU paper uses, ref. II.B).
HOLD_VELOCITY_M_S = 2e-9


class RsfParams(NamedTuple):
    """Parameters of the RSF law and of the spring-slider (a JAX pytree: fields may be arrays).

    mu0 [-] steady-state friction at V0; a [-] direct effect; b [-] evolution effect;
    Dc_m [m] critical slip distance; V0_m_s [m/s] reference velocity;
    k_per_m [1/m] spring stiffness over normal stress (μ per metre of stretch; spring mode);
    eta_s_per_m [s/m] radiation damping over normal stress (spring mode, 0 = none);
    b2, Dc2_m: a second state variable (both None: one state variable).
    """

    mu0: float = 0.6
    a: float = 0.01
    b: float = 0.015
    Dc_m: float = 1e-5
    V0_m_s: float = 1e-6
    k_per_m: float | None = None
    eta_s_per_m: float = 0.0
    b2: float | None = None
    Dc2_m: float | None = None

    @property
    def two_states(self) -> bool:
        return self.b2 is not None

    def astype(self, dtype) -> "RsfParams":
        return RsfParams(*(None if v is None else jnp.asarray(v, dtype) for v in self))

    def broadcast(self, size: int) -> "RsfParams":
        """Every field as a (size,) array (for vmap over a batch of parameter sets)."""
        return RsfParams(*(None if v is None else jnp.broadcast_to(jnp.asarray(v), (size,)) for v in self))


def check_law(law: str) -> str:
    if law not in LAWS:
        raise ValueError(f"unknown evolution law {law!r}; use one of {', '.join(LAWS)}")
    return law


def steady_state_mu(p: RsfParams, V):
    """μss(V) = μ0 + (a − b)·ln(V/V0) (+ (−b2)·ln(V/V0) with a second state)."""
    b = p.b + (p.b2 if p.two_states else 0.0)
    return p.mu0 + (p.a - b) * jnp.log(V / p.V0_m_s)


def friction(p: RsfParams, V, log_theta, log_theta2=None):
    """μ(V, θ) with θ given as ln θ [ln s]."""
    return friction_log(p, jnp.log(V), log_theta, log_theta2)


def friction_log(p: RsfParams, log_V, log_theta, log_theta2=None):
    """μ from ln V and ln θ: finite even where V itself underflows (float32 creep in a long hold)."""
    mu = p.mu0 + p.a * (log_V - jnp.log(p.V0_m_s)) + p.b * (log_theta + jnp.log(p.V0_m_s / p.Dc_m))
    if p.two_states:
        mu = mu + p.b2 * (log_theta2 + jnp.log(p.V0_m_s / p.Dc2_m))
    return mu


def log_state_rate(law: str, V, log_theta, Dc_m):
    """d(ln θ)/dt [1/s] of the aging or slip law."""
    if law == "aging":
        return jnp.exp(-log_theta) - V / Dc_m
    return -(V / Dc_m) * (jnp.log(V / Dc_m) + log_theta)


def evolve_log_state(law: str, log_theta0, V, tau_s, Dc_m):
    """ln θ after sliding at constant V ≥ 0 for a time τ ≥ 0 from ln θ0: the exact solution."""
    x = V * tau_s / Dc_m
    decay = jnp.exp(-x)
    if law == "aging":
        # (1 − e^{−x})/x → 1 as x → 0; the where keeps the x = 0 branch free of 0/0 (and its gradient).
        small = x < 1e-8
        x_safe = jnp.where(small, 1.0, x)
        fraction = jnp.where(small, 1.0 - 0.5 * x, -jnp.expm1(-x_safe) / x_safe)
        return jnp.log(tau_s * fraction + jnp.exp(log_theta0) * decay)
    V_safe = jnp.where(V > 0, V, 1.0)  # at V = 0 the slip law leaves θ unchanged (and expm1(0) = 0)
    return log_theta0 + (jnp.log(V_safe / Dc_m) + log_theta0) * jnp.expm1(-x)


class ImposedRun(NamedTuple):
    """An imposed-velocity simulation at the sample times (arrays of the samples' shape).

    mu [-]; velocity_m_s: the slider velocity used (holds at the hold velocity); log_theta [ln s]
    (log_theta2 with a second state, else None); slip_m: slider displacement since t = 0.
    """

    mu: jax.Array
    velocity_m_s: jax.Array
    log_theta: jax.Array
    slip_m: jax.Array
    log_theta2: jax.Array | None = None


def segment_index(durations_s, times_s):
    """(segment of each sample, time since that segment started, start time of each segment).

    Right-continuous: a sample exactly at a boundary belongs to the segment that starts there.
    Samples after the last end stay in the last segment.
    """
    ends = jnp.cumsum(durations_s)
    starts = ends - durations_s
    index = jnp.clip(jnp.searchsorted(ends, times_s, side="right"), 0, durations_s.shape[-1] - 1)
    return index, times_s - starts[index], starts


def imposed_velocity(p: RsfParams, durations_s, velocities_m_s, times_s, initial_velocity_m_s,
                     *, law: str = "aging", hold_velocity_m_s=HOLD_VELOCITY_M_S) -> ImposedRun:
    """One imposed-velocity protocol: segments (durations_s (S,), velocities_m_s (S,)) sampled at
    times_s (T,), starting at steady state for initial_velocity_m_s. Velocities of 0 are holds at
    hold_velocity_m_s. Exact (closed forms); see the module docstring."""
    V = jnp.where(velocities_m_s > 0, velocities_m_s, hold_velocity_m_s)
    V_start = jnp.where(initial_velocity_m_s > 0, initial_velocity_m_s, hold_velocity_m_s)

    def starts_of(Dc_m):
        def step(log_theta, segment):
            duration, v = segment
            return evolve_log_state(law, log_theta, v, duration, Dc_m), log_theta
        _, at_start = jax.lax.scan(step, jnp.log(Dc_m / V_start), (durations_s, V))
        return at_start

    index, tau, _ = segment_index(durations_s, times_s)
    v = V[index]
    log_theta = evolve_log_state(law, starts_of(p.Dc_m)[index], v, tau, p.Dc_m)
    log_theta2 = None
    if p.two_states:
        log_theta2 = evolve_log_state(law, starts_of(p.Dc2_m)[index], v, tau, p.Dc2_m)
    slip_at_start = jnp.cumsum(V * durations_s) - V * durations_s
    slip = slip_at_start[index] + v * tau
    return ImposedRun(friction(p, v, log_theta, log_theta2), v, log_theta, slip, log_theta2)


@partial(jax.jit, static_argnames=("law",))
def imposed_velocity_batch(p: RsfParams, durations_s, velocities_m_s, times_s, initial_velocity_m_s,
                           hold_velocity_m_s, *, law: str = "aging") -> ImposedRun:
    """imposed_velocity over a batch: protocol arrays (B, S), (B, S), (B, T), (B,), (B,); each parameter
    field a scalar or (B,). One compiled call per (B, S, T, dtype, law)."""
    one = partial(imposed_velocity, law=law)
    p = p.broadcast(durations_s.shape[0])
    return jax.vmap(lambda q, d, v, t, v0, vh: one(q, d, v, t, v0, hold_velocity_m_s=vh))(
        p, durations_s, velocities_m_s, times_s, initial_velocity_m_s, hold_velocity_m_s)


__all__ = ["LAWS", "HOLD_VELOCITY_M_S", "RsfParams", "ImposedRun", "check_law", "steady_state_mu", "friction",
           "friction_log",
           "log_state_rate", "evolve_log_state", "segment_index", "imposed_velocity", "imposed_velocity_batch"]
