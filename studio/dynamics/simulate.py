"""One entry point for both drives: `simulate(protocols, params, mode=..., law=..., dtype=...)`.

    imposed   the slider's velocity is the protocol's: exact closed forms (studio.dynamics.law)
    spring    the load point's velocity is the protocol's: spring-slider ODE (studio.dynamics.spring)

Batching: `protocols` is one Protocol, a list of them, or a ProtocolBatch of arrays; each
parameter of RsfParams is a scalar (shared) or a (B,) array (one per protocol). The result
has a leading batch axis unless one Protocol was given. dtype=np.float32 is the fast path,
np.float64 the reference. Compiled once per (mode, law, dtype, batch shape); keep batch
shapes fixed (pad) when calling in a loop.
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from studio.dynamics.law import RsfParams, check_law, imposed_velocity_batch
from studio.dynamics.protocol import Protocol, ProtocolBatch, stack
from studio.errors import StudioError
from studio.physics.friction import require_float64

MODES = ("imposed", "spring")


class ParameterError(StudioError, ValueError):
    """An RSF parameter that cannot be simulated; the message names it."""


class SolverError(StudioError, RuntimeError):
    """The spring-slider ODE solver failed; the message names the protocol and the parameters."""


class Trajectory(NamedTuple):
    """Samples of a simulation (numpy; (T,) for one protocol, (B, T) for a batch).

    times_s; mu [-]; velocity_m_s: the slider's; log_theta [ln s] (log_theta2 or None);
    slip_m: slider displacement; load_point_m: load-point displacement (imposed: = slip_m);
    ok: False where the spring-mode solver failed (always True in imposed mode).
    """

    times_s: np.ndarray
    mu: np.ndarray
    velocity_m_s: np.ndarray
    log_theta: np.ndarray
    slip_m: np.ndarray
    load_point_m: np.ndarray
    ok: np.ndarray
    log_theta2: np.ndarray | None = None

    @property
    def theta_s(self) -> np.ndarray:
        return np.exp(self.log_theta)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ParameterError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


def check_params(p: RsfParams, mode: str = "imposed") -> None:
    """Refuse parameters the law cannot use, naming the first bad one."""
    rules = {"mu0": (False, False), "a": (True, mode == "spring"), "b": (True, False), "Dc_m": (True, True),
             "V0_m_s": (True, True), "eta_s_per_m": (True, False)}
    if mode == "spring":
        rules["k_per_m"] = (True, True)
        if p.k_per_m is None:
            raise ParameterError("spring mode needs the stiffness k_per_m (μ per metre; k / normal stress)")
    if p.two_states:
        if p.Dc2_m is None:
            raise ParameterError("a second state variable needs both b2 and Dc2_m")
        rules.update({"b2": (True, False), "Dc2_m": (True, True)})
    for name, (non_negative, positive) in rules.items():
        values = np.asarray(getattr(p, name), dtype=np.float64)
        bad = ~np.isfinite(values) | (non_negative & (values < 0)) | (positive & (values <= 0))
        if np.any(bad):
            value = float(values.ravel()[np.flatnonzero(bad.ravel())[0]])
            need = "> 0" if positive else "≥ 0" if non_negative else "finite"
            raise ParameterError(f"parameter {name} = {value!r} is not valid (must be finite and {need})")


def as_batch(protocols, *, samples: int = 100, times_s=None) -> tuple[ProtocolBatch, bool]:
    """(ProtocolBatch, single) from a Protocol, a list of them or a ProtocolBatch."""
    if isinstance(protocols, ProtocolBatch):
        if times_s is not None:
            t = np.broadcast_to(np.asarray(times_s, np.float64), (protocols.size, np.shape(times_s)[-1]))
            protocols = protocols._replace(times_s=t)
        return protocols, False
    single = isinstance(protocols, Protocol)
    return stack(protocols, samples=samples, times_s=times_s), single


def run_batch(batch: ProtocolBatch, params: RsfParams, *, mode: str = "imposed", law: str = "aging",
              dtype=jnp.float64, forward: bool = False, tolerances=None, max_steps: int | None = None,
              stream: bool = False):
    """The compiled simulator on JAX arrays (differentiable in the parameters): ImposedRun or SpringRun.
    stream: spring mode in float64 by studio.dynamics.spring.spring_slider_stream (the same solves, ~2.5×
    faster on a batch of unlike protocols, not differentiable; simulate uses it).
    tolerances: (rtol, atol) of the spring-mode solver instead of the dtype's; max_steps: its step limit
    (per protocol in float64, per segment in float32; None: studio.dynamics.spring.MAX_STEPS). float64 needs JAX's 64-bit mode (studio.physics.enable_float64,
    which the entry points call); without it this raises Float64Error rather than compute in float32."""
    if jnp.dtype(dtype) == jnp.float64:
        require_float64()
    p = params.astype(dtype)
    arrays = [jnp.asarray(a, dtype) for a in batch]
    if mode == "imposed":
        return imposed_velocity_batch(p, *arrays, law=law)
    # imported here: diffrax takes ~0.5 s to import, which a design command or the studio's start
    # (they register and show `rsf`) should not pay for
    from studio.dynamics.spring import MAX_STEPS, spring_slider_batch, spring_slider_stream

    options = dict(law=law, tolerances=None if tolerances is None else tuple(tolerances),
                   max_steps=MAX_STEPS if max_steps is None else max_steps)
    if stream and not forward and jnp.dtype(dtype) == jnp.float64:
        return spring_slider_stream(p, *arrays[:4], **options)
    return spring_slider_batch(p, *arrays[:4], forward=forward, **options)


def simulate(protocols, params: RsfParams, *, mode: str = "imposed", law: str = "aging", samples: int = 100,
             times_s=None, dtype=np.float64, tolerances=None, max_steps: int | None = None,
             check: bool = True) -> Trajectory:
    """Simulate protocols (see the module docstring); raise SolverError on a solver failure if `check`."""
    check_mode(mode)
    check_law(law)
    check_params(params, mode)
    batch, single = as_batch(protocols, samples=samples, times_s=times_s)
    run = run_batch(batch, params, mode=mode, law=law, dtype=jnp.dtype(dtype), tolerances=tolerances,
                    max_steps=max_steps, stream=True)
    out = {name: (None if value is None else np.asarray(value)) for name, value in run._asdict().items()
           if name != "steps"}
    times = np.asarray(batch.times_s, dtype=np.dtype(dtype))
    if mode == "imposed":
        out["load_point_m"] = out["slip_m"]
        out["ok"] = np.ones(times.shape[0], bool)
    if check and not np.all(out["ok"]):
        row = int(np.flatnonzero(~out["ok"])[0])
        values = ", ".join(f"{k}={_at(v, row):.4g}" for k, v in params._asdict().items() if v is not None)
        raise SolverError(f"protocol {row + 1}: the spring-slider solver failed (step limit or step-size "
                          f"underflow) at {values}")
    trajectory = Trajectory(times, out["mu"], out["velocity_m_s"], out["log_theta"], out["slip_m"],
                            out["load_point_m"], out["ok"], out["log_theta2"])
    if single:
        trajectory = Trajectory(*(None if v is None else v[0] for v in trajectory))
    return trajectory


def _at(value, row: int) -> float:
    v = np.asarray(value, dtype=np.float64)
    return float(v) if v.ndim == 0 else float(v.ravel()[row])


__all__ = ["MODES", "ParameterError", "SolverError", "Trajectory", "check_mode", "check_params", "as_batch",
           "run_batch", "simulate"]
