"""Friction dynamics: rate-and-state friction (RSF) in JAX. No torch, no Qt (the physics layer).

    law ........ RsfParams, steady_state_mu, friction, log_state_rate, evolve_log_state (exact
                 imposed-velocity solutions of the aging and slip laws), imposed_velocity(_batch)
    spring ..... spring_slider(_batch, _stream): load point, spring k, radiation damping η; diffrax Kvaerno5
    protocol ... Segment, Protocol, slide, hold, stack → ProtocolBatch; presets velocity_steps,
                 slide_hold_slide
    simulate ... simulate(protocols, params, mode="imposed"|"spring", law="aging"|"slip", dtype)
    fit ........ fit / fit_steps (a generator of FitProgress): least squares with the JAX Jacobian
    files ...... protocol CSV read/write, measured records (read_record), curve CSV (write_curve)

docs/dynamics.md has the equations, the units and a worked example.
"""
from studio.dynamics.fit import FitError, FitProgress, FitResult, Record, fit, fit_steps  # noqa: F401
from studio.dynamics.law import (  # noqa: F401
    HOLD_VELOCITY_M_S,
    LAWS,
    ImposedRun,
    RsfParams,
    evolve_log_state,
    friction,
    imposed_velocity,
    imposed_velocity_batch,
    log_state_rate,
    steady_state_mu,
)
from studio.dynamics.protocol import (  # noqa: F401
    PRESETS,
    Protocol,
    ProtocolBatch,
    ProtocolError,
    Segment,
    hold,
    slide,
    slide_hold_slide,
    stack,
    velocity_steps,
)
from studio.dynamics.simulate import (  # noqa: F401
    MODES,
    ParameterError,
    SolverError,
    Trajectory,
    check_params,
    run_batch,
    simulate,
)

_SPRING = ("SpringRun", "spring_slider", "spring_slider_batch", "spring_slider_stream")


def __getattr__(name):
    """The spring-slider names load with diffrax (~0.5 s) on first use, not with the package: the CLI
    imports the package to register `rsf`, and a `design` or the studio's start should not pay for it."""
    if name in _SPRING:
        from studio.dynamics import spring
        return getattr(spring, name)
    raise AttributeError(f"module 'studio.dynamics' has no attribute {name!r}")
