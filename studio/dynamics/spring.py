"""The spring-slider: a load point pulled at a piecewise-constant velocity through a spring of
stiffness k (μ per metre, i.e. stiffness over normal stress), integrated with diffrax.

    μ_spring = μ(V, θ) + η·V              (η: radiation damping over normal stress, s/m)
    dμ_spring/dt = k·(V_lp(t) − V)

Differentiating the friction law gives an ODE for the slider velocity V, the state θ and
the slip δ, in variables chosen so that steady sliding is exactly representable:
    u = ln(V / V_ref)   V_ref = the current segment's load-point velocity (a hold: V_init)
    φ = ln(V·θ / Dc)    0 at steady state [φ2 likewise with a second state]
    s = δ / Dc          the slip is part of the ODE state
    du/dt = (−k·V_lp·expm1(u) [a hold: −k·V] − b·r − b2·r2) / (a + η·V)
    dφ/dt = du/dt + r,  r = d lnθ/dt = (V/Dc)·expm1(−φ) (aging) or −(V/Dc)·φ (slip)
    ds/dt = V / Dc
Written with ln V and ln θ instead, k·(V_lp − V) is a difference of two nearly equal numbers;
the solver then sees its round-off amplified by k·V/a (up to 1e3–1e4 /s) and crawls (one steady
sliding case in float32: over 4000 steps for 39 s instead of 15; docs/dynamics.md). The slip in
the state means no displacement integrated after the solve, and μ_spring(t) − μ_spring(0) =
k·(δ_lp(t) − δ(t)) holds to the solver's tolerance (tested).

float64: one diffeqsolve per protocol. The load point's jumps are given to the step-size controller
(jump_ts: it steps to just before and just after each, never across), which also restarts the step
size after each jump as a new solve would (_restart_at_jumps); the solver passes each step's start to
the vector field, which takes the segment from it (_step_aware), and moves u to the new segment's
reference at the first step after a jump. Vmapped, a batch then costs its slowest protocol's steps,
not the sum over segments of each segment's slowest (the per-segment solves this replaced: 391
lock-step iterations against 243 on the benchmark's 1024 protocols at 1e-6).
float32: one solve per segment, each on its own clock (see _solve_by_segment for why).
simulate (float64) runs spring_slider_stream instead: the same solves, diffrax's solver and controller stepped
by a loop of its own in which 128 lanes take protocols from a queue (costliest first), a lane that finishes
taking the next; the batch then costs about the sum of its protocols' steps, not its slowest protocol's
steps times its size (2–3.8× faster on the benchmark's batch; not differentiable, hence kept apart).

The interface starts at steady state at the protocol's initial velocity. V_lp = 0 (a hold) is a
true hold: the slider creeps while the spring relaxes.

Solvers (diffrax ESDIRK, L-stable). Each stage is solved by a chord method (optimistix Chord: one
Jacobian per step) with a tiny dense inverse (SmallInverse) instead of lineax's LU, which vmapped on
CPU calls LAPACK once per lane (replacing it: 2.3 s → 0.9 s for 256 protocols at 1e-6); diffrax's VeryChord default took
~7× more steps at rtol 1e-6 (median 714 against 108 over 256 of the benchmark's protocols):
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
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import optimistix as optx
from diffrax._step_size_controller.pid import _select_initial_step
from diffrax._term import WrapTerm

from studio.dynamics.law import RsfParams, friction_log, segment_index

TOLERANCES = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-5)}
SOLVERS = {"float64": diffrax.Kvaerno5, "float32": diffrax.Kvaerno3}
MAX_STEPS = 16384  # per solve: headroom (random 100 s protocols needed at most ~2600 in all at 1e-10)


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
    """The ODE in y = (u, φ [, φ2], δ/Dc), u = ln(V / V_ref) with V_ref the reference of the segment the
    solver step lies in; args = (params, segment ends, load-point velocities, V_init, start of the solver
    step: see _step_aware)."""
    def field(t, y, args):
        p = args[0]
        v_lp, log_ref = _segment_velocity(args, _segment_of_step(args[1], args[-1]))
        log_V = y[0] + log_ref
        V = jnp.exp(log_V)
        rate = _log_state_rate(law, V, log_V, y[1], p.Dc_m)
        # k·(V_lp − V) = −k·V_lp·expm1(u) while sliding (V_ref = V_lp): no cancellation near steady sliding
        push = jnp.where(v_lp > 0, -p.k_per_m * v_lp * jnp.expm1(y[0]), -p.k_per_m * V) - p.b * rate
        if p.two_states:
            rate2 = _log_state_rate(law, V, log_V, y[2], p.Dc2_m)
            du = (push - p.b2 * rate2) / (p.a + p.eta_s_per_m * V)
            return jnp.stack([du, du + rate, du + rate2, V / p.Dc_m])
        du = push / (p.a + p.eta_s_per_m * V)
        return jnp.stack([du, du + rate, V / p.Dc_m])
    return field


def _segment_of_step(ends, t0):
    """The segment a solver step starting at t0 lies in: steps never straddle a jump (the controller steps
    to just before and just after each), a step owns (t0, t1], zero-length segments own nothing."""
    return jnp.clip(jnp.searchsorted(ends, t0, side="right"), 0, ends.shape[0] - 1)


def _segment_velocity(args, k):
    """(load-point velocity, ln V_ref) of segment k. V_ref is the load-point velocity, or V_init in a hold
    (where k·(V_lp − V) = −k·V has no cancellation to avoid)."""
    _, _, velocities, v_init, _ = args
    return velocities[k], jnp.log(jnp.where(velocities[k] > 0, velocities[k], v_init))


def _rebase(y, args, t0):
    """y, in the reference of the segment that ended at the jump just before t0, in that of the segment
    of the step starting at t0: u += ln(V_ref old / V_ref new)."""
    ends = args[1]
    jump = ends[jnp.maximum(jnp.searchsorted(ends, t0, side="left") - 1, 0)]
    ended = jnp.searchsorted(ends, jump, side="left")  # the segment that ended there, not a zero-length one
    return y.at[0].add(_segment_velocity(args, ended)[1] - _segment_velocity(args, _segment_of_step(ends, t0))[1])


def _log_state_rate(law: str, V, log_V, phi, Dc_m):
    """d(ln θ)/dt from φ = ln(V·θ/Dc): aging (V/Dc)·(e^{−φ} − 1), slip −(V/Dc)·φ (exact at φ = 0)."""
    if law == "slip":
        return -(V / Dc_m) * phi
    # far below steady state (a long hold: θ ≫ Dc/V) e^{−φ} overflows float32 while V/Dc underflows;
    # 1/θ = exp(ln V − ln Dc − φ) then carries the rate (no cancellation to avoid there)
    far = phi < -20.0
    near = (V / Dc_m) * jnp.expm1(-jnp.where(far, 0.0, phi))
    return jnp.where(far, jnp.exp(log_V - jnp.log(Dc_m) - phi) - V / Dc_m, near)


class SmallInverse(lx.AbstractLinearSolver):
    """Dense solve of a tiny square system (the 3×3 or 4×4 Newton matrix of one ESDIRK stage) by an
    explicit inverse, Gauss–Jordan with partial pivoting unrolled into elementwise operations.
    Why: vmapped over a batch on CPU, lineax's LU calls LAPACK once per lane and dominated the step."""

    def init(self, operator, options):
        del options
        A = operator.as_matrix()
        n = A.shape[0]
        inverse = jnp.eye(n, dtype=A.dtype)
        rows = jnp.arange(n)
        for k in range(n):  # n is static (3 or 4): unrolled
            pivot = k + jnp.argmax(jnp.abs(A[k:, k]))
            swap = jnp.where(rows == k, pivot, jnp.where(rows == pivot, k, rows))
            A, inverse = A[swap], inverse[swap]
            scale = 1 / A[k, k]
            A, inverse = A.at[k].multiply(scale), inverse.at[k].multiply(scale)
            factor = jnp.where(rows == k, 0, A[:, k])[:, None]
            A, inverse = A - factor * A[k][None], inverse - factor * inverse[k][None]
        return inverse

    def compute(self, state, vector, options):
        del options
        return state @ vector, lx.RESULTS.successful, {}

    def transpose(self, state, options):
        del options
        return state.T, {}

    def conj(self, state, options):
        del options
        return state.conj(), {}

    def assume_full_rank(self):
        return True


def _step_aware(solver_class):
    """The solver, with the start of each step passed to the vector field (the last entry of args), and
    the state moved to the new segment's reference at the first step after a jump (made_jump).
    Why the step's start and not the field's own t: Kvaerno5 (and 4) evaluate a stage past the step's end
    (c = 1.23), so a step ending at a load-point jump would read the next segment's velocity."""
    class StepAware(solver_class):
        def init(self, terms, t0, t1, y0, args):
            return super().init(terms, t0, t1, y0, args[:-1] + (t0,))

        def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
            y0 = jnp.where(made_jump, _rebase(y0, args, t0), y0)
            return super().step(terms, t0, t1, y0, args[:-1] + (t0,), solver_state, made_jump)

        def func(self, terms, t0, y0, args):
            return super().func(terms, t0, y0, args[:-1] + (t0,))
    return StepAware


def _solver(precision, rtol, atol):
    return _step_aware(SOLVERS[precision])(root_finder=optx.Chord(rtol=rtol, atol=atol, linear_solver=SmallInverse()))


def _controller(law, rtol, atol, jumps):
    return _restart_at_jumps(law)(diffrax.PIDController(rtol=rtol, atol=atol), jump_ts=jumps)


def _restart_at_jumps(law: str):
    """diffrax's jump-clipping controller, which after each load-point jump restarts the step size as a
    new solve would (diffrax's initial-step rule, from the state at the jump and the new segment's field).
    Why: carried over, the long step of a steady segment skipped the transient after a jump with an
    error estimate that did not see it (max |Δμ| 2e-4 at rtol 1e-6 on one protocol, 39 steps)."""
    term = diffrax.ODETerm(_vector_field(law))

    def func(terms, t, y, args):
        return terms.vf(t, y, args[:-1] + (t,))

    class RestartAtJumps(diffrax.ClipStepSizeController):
        def adapt_step_size(self, t0, t1, y0, y1_candidate, args, y_error, error_order, controller_state):
            keep, next_t0, next_t1, made_jump, state, result = super().adapt_step_size(
                t0, t1, y0, y1_candidate, args, y_error, error_order, controller_state)
            # diffrax 0.7.2's own initial-step rule (private; the version is pinned)
            restart = _select_initial_step(term, next_t0, _rebase(y1_candidate, args, next_t0), args, func, error_order,
                                           self.rtol, self.atol, self.norm)
            next_t1 = jnp.where(made_jump, jnp.minimum(next_t1, next_t0 + restart), next_t1)
            return keep, next_t0, next_t1, made_jump, state, result
    return RestartAtJumps


def _solve_by_segment(term, solver, controller, args, y0, durations_s, times_s, segment, options):
    """The float32 path: one solve per segment, each on its own clock from 0. Why: on one clock over the
    protocol, float32 time (a 1e-5 s resolution at t ≈ 100 s) cannot take the µs steps after a late jump
    (0.2–0.8 % of the benchmark's protocols hit the step limit). (ys at the samples, failed, steps)"""
    p, ends, velocities, v_init, zero = args
    starts = ends - durations_s

    def one(carry, k):
        y, k_before, failed, steps = carry
        y = y.at[0].add(_segment_velocity(args, k_before)[1] - _segment_velocity(args, k)[1])
        end = jnp.maximum(durations_s[k], jnp.finfo(zero.dtype).tiny)  # padding: a zero-length solve
        local = (p, end[None], velocities[k][None], v_init, zero)
        solution = diffrax.diffeqsolve(term, solver, zero, end, None, y, args=local,
                                       saveat=diffrax.SaveAt(ts=jnp.clip(times_s - starts[k], 0, end), t1=True),
                                       stepsize_controller=controller, **options)
        failed = failed | (solution.result != diffrax.RESULTS.successful)
        return (solution.ys[-1], k, failed, steps + solution.stats["num_steps"]), solution.ys[:-1]

    k0 = _segment_of_step(ends, 0.0).astype(jnp.int32)
    carry = (y0, k0, jnp.zeros((), bool), jnp.zeros((), jnp.int32))
    (_, _, failed, steps), saved = jax.lax.scan(one, carry, jnp.arange(durations_s.shape[0], dtype=jnp.int32))
    return saved[segment, jnp.arange(times_s.shape[0])], failed, steps


class _Setup(NamedTuple):
    """One protocol, ready to solve: the vector field's args, the initial state, the end, the sample times
    clipped to [0, end] and the segment each lies in, the load point at the samples."""
    args: tuple
    y0: jax.Array
    end: jax.Array
    sample_t: jax.Array
    segment: jax.Array
    load_point: jax.Array


def _setup(p: RsfParams, durations_s, velocities_m_s, times_s, initial_velocity_m_s) -> _Setup:
    dtype = jnp.result_type(p.a, durations_s, times_s)
    index, tau, _ = segment_index(durations_s, times_s)
    ends = jnp.cumsum(durations_s)
    v_init = jnp.asarray(initial_velocity_m_s, dtype)
    args = (p, ends, velocities_m_s, v_init, jnp.zeros((), dtype))
    end = jnp.maximum(ends[-1], jnp.finfo(dtype).tiny)
    # each sample in the reference of the segment it lies in (the last real one at and after the end)
    sample_t = jnp.clip(times_s, 0, end)
    segment = jnp.where(sample_t >= end, jnp.searchsorted(ends, end, side="left"), _segment_of_step(ends, sample_t))
    # V = v_init, φ = 0 (steady state), no slip yet
    y0 = jnp.zeros((4 if p.two_states else 3,), dtype).at[0].set(
        jnp.log(v_init) - _segment_velocity(args, _segment_of_step(ends, 0.0))[1])
    lp_at_start = jnp.cumsum(velocities_m_s * durations_s) - velocities_m_s * durations_s
    load_point = lp_at_start[index] + velocities_m_s[index] * tau
    return _Setup(args, y0, end, sample_t, segment, load_point)


def _run(p: RsfParams, setup: _Setup, y, failed, steps) -> SpringRun:
    """The SpringRun of one protocol from the solver's states y (T, n) at the samples."""
    log_V = y[:, 0] + _segment_velocity(setup.args, setup.segment)[1]
    V = jnp.exp(log_V)
    log_theta = y[:, 1] - log_V + jnp.log(p.Dc_m)
    log_theta2 = y[:, 2] - log_V + jnp.log(p.Dc2_m) if p.two_states else None
    mu = friction_log(p, log_V, log_theta, log_theta2) + p.eta_s_per_m * V
    ok = ~failed & jnp.all(jnp.isfinite(y)) & jnp.all(jnp.isfinite(mu))
    return SpringRun(mu, V, log_theta, y[:, -1] * p.Dc_m, setup.load_point, ok, steps, log_theta2)


def spring_slider(p: RsfParams, durations_s, velocities_m_s, times_s, initial_velocity_m_s, *,
                  law: str = "aging", forward: bool = False, max_steps: int = MAX_STEPS,
                  tolerances: tuple[float, float] | None = None) -> SpringRun:
    """One spring-slider protocol: load-point segments (durations_s (S,), velocities_m_s (S,)),
    samples at times_s (T,, non-decreasing, ≥ 0), steady state at initial_velocity_m_s.
    The dtype of the inputs picks solver and tolerances (SOLVERS, TOLERANCES) unless
    `tolerances` = (rtol, atol) is given. max_steps: the solver's step limit, per protocol in float64
    (one solve), per segment in float32."""
    dtype = jnp.result_type(p.a, durations_s, times_s)
    precision = "float64" if dtype == jnp.float64 else "float32"
    rtol, atol = tolerances or TOLERANCES[precision]
    solver = _solver(precision, rtol, atol)
    adjoint = diffrax.ForwardMode() if forward else diffrax.RecursiveCheckpointAdjoint()
    term = diffrax.ODETerm(_vector_field(law))
    setup = _setup(p, durations_s, velocities_m_s, times_s, initial_velocity_m_s)
    args, y0, end = setup.args, setup.y0, setup.end
    options = dict(max_steps=max_steps, throw=False, adjoint=adjoint)
    if precision == "float64":
        # one solve over the whole protocol; the jumps of the load point are given to the step-size
        # controller, which steps to just before and just after each and restarts the step size there
        solution = diffrax.diffeqsolve(term, solver, jnp.zeros((), dtype), end, None, y0, args=args,
                                       saveat=diffrax.SaveAt(ts=setup.sample_t),
                                       stepsize_controller=_controller(law, rtol, atol, args[1][:-1]), **options)
        y, steps = solution.ys, solution.stats["num_steps"]
        failed = solution.result != diffrax.RESULTS.successful
    else:
        y, failed, steps = _solve_by_segment(term, solver, diffrax.PIDController(rtol=rtol, atol=atol), args,
                                             y0, durations_s, times_s, setup.segment, options)
    return _run(p, setup, y, failed, steps)


@partial(jax.jit, static_argnames=("law", "forward", "tolerances", "max_steps"))
def spring_slider_batch(p: RsfParams, durations_s, velocities_m_s, times_s, initial_velocity_m_s, *,
                        law: str = "aging", forward: bool = False, tolerances=None,
                        max_steps: int = MAX_STEPS) -> SpringRun:
    """spring_slider over a batch: protocol arrays (B, S), (B, S), (B, T), (B,); each parameter field a
    scalar or (B,). Lanes step in lock-step, so a batch costs about its slowest protocol's steps (float32: per segment)."""
    one = partial(spring_slider, law=law, forward=forward, tolerances=tolerances, max_steps=max_steps)
    p = p.broadcast(durations_s.shape[0])
    return jax.vmap(one)(p, durations_s, velocities_m_s, times_s, initial_velocity_m_s)


def _predicted_cost(p: RsfParams, durations_s, velocities_m_s):
    """A protocol's solver steps, roughly (B,): a transient per segment, and steps that grow with the log of
    the slip over Dc. Only orders the stream's queue, costliest first, so that no long protocol starts last
    (on the benchmark's protocols the queue then takes 7333 lock-step iterations of 128 lanes at the
    reference tolerance where 6905 would be perfect packing; in the given order 8319)."""
    slip = durations_s * jnp.maximum(velocities_m_s, 0) / p.Dc_m[:, None]
    return jnp.sum(jnp.where(durations_s > 0, 1 + jnp.log1p(slip), 0), axis=1)


class _Lane(NamedTuple):
    """A lane of the stream: the protocol it solves (pid; ≥ the batch size: idle) and diffrax's loop state."""
    pid: jax.Array
    tprev: jax.Array
    tnext: jax.Array
    y: jax.Array
    solver_state: object
    controller_state: object
    made_jump: jax.Array
    sample: jax.Array  # the next sample to save
    steps: jax.Array
    failed: jax.Array


@partial(jax.jit, static_argnames=("law", "tolerances", "max_steps", "lanes", "chunk"))
def spring_slider_stream(p: RsfParams, durations_s, velocities_m_s, times_s, initial_velocity_m_s, *,
                         law: str = "aging", tolerances=None, max_steps: int = MAX_STEPS,
                         lanes: int = 128, chunk: int = 8) -> SpringRun:
    """spring_slider_batch's float64 solves (the same steps, to round-off the same result) without the lock-step
    waste of a vmapped diffeqsolve: `lanes` protocols are solved side by side and a lane that finishes takes
    the next protocol of the batch, the costliest first (_predicted_cost), so the batch costs about the sum of
    its protocols' steps over `lanes`, not its slowest protocol's steps times its size. Each lane saves up to
    `chunk` samples at a time (diffrax's save loop takes one).
    Not differentiable (a while loop of diffrax's steps, with no adjoint): for gradients use
    spring_slider_batch. Why: in a vmapped diffeqsolve a batch of random protocols took 243 lock-step
    iterations at rtol 1e-6 where the mean protocol needs 103 (2561 against 863 at the reference tolerance)."""
    size, samples = times_s.shape
    dtype = jnp.result_type(p.a, durations_s, times_s)
    if dtype != jnp.float64:
        raise ValueError("spring_slider_stream solves in float64 (float32: spring_slider_batch)")
    rtol, atol = tolerances or TOLERANCES["float64"]
    solver = _solver("float64", rtol, atol)
    # as diffeqsolve wraps it (which also sets its first step: diffrax's initial-step rule only runs on a bare
    # ODETerm, and a wrapped one starts at 0.01 s; the restarts at jumps do run it)
    term = WrapTerm(diffrax.ODETerm(_vector_field(law)), jnp.ones((), jnp.int32))
    error_order = solver.error_order(term)
    lanes = min(lanes, size)
    p = p.broadcast(size)
    setups = jax.vmap(_setup)(p, durations_s, velocities_m_s, times_s, initial_velocity_m_s)
    order = jnp.argsort(-_predicted_cost(p, durations_s, velocities_m_s), stable=True)

    def end_floor(end):  # diffrax's loop: a step ending within 100 ULP of the end is taken to the end
        for _ in range(100):
            end = jnp.where(end == 0, -jnp.finfo(dtype).tiny, jnp.nextafter(end, -jnp.inf))
        return end

    floors = jax.vmap(end_floor)(setups.end)
    refills = max(1, lanes // 16)

    # the controller of a protocol: its (sorted) jumps put in place, not sorted again at each step
    template = _controller(law, rtol, atol, setups.args[1][0, :-1]).wrap(1)

    def protocol(pid):
        q = order[jnp.minimum(pid, size - 1)]
        setup = jax.tree_util.tree_map(lambda x: x[q], setups)
        return q, setup, eqx.tree_at(lambda c: c.jump_ts, template, setup.args[1][:-1])

    def start(pid):  # diffeqsolve's initial state
        _, setup, controller = protocol(pid)
        zero = jnp.zeros((), dtype)
        tnext, controller_state = controller.init(term, zero, setup.end, setup.y0, None, setup.args, solver.func,
                                                  error_order)
        tnext = jnp.minimum(tnext, setup.end)
        solver_state = solver.init(term, zero, tnext, setup.y0, setup.args)
        return _Lane(pid, zero, tnext, setup.y0, solver_state, controller_state, jnp.zeros((), bool),
                     jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32), jnp.zeros((), bool))

    def advance(lane):  # diffrax's loop body (no events, no SDE)
        q, setup, controller = protocol(lane.pid)
        y, y_error, dense, solver_state, solver_result = solver.step(
            term, lane.tprev, lane.tnext, lane.y, setup.args, lane.solver_state, lane.made_jump)
        y_error = jnp.where(jnp.isnan(y_error), jnp.inf, y_error)
        keep, tprev, tnext, made_jump, controller_state, controller_result = controller.adapt_step_size(
            lane.tprev, lane.tnext, lane.y, y, setup.args, y_error, error_order, lane.controller_state)
        tprev = jnp.minimum(tprev, setup.end)
        clip = tnext > floors[q]
        tnext = jnp.where(clip, jnp.where(keep, setup.end, tprev + 0.5 * (setup.end - tprev)), tnext)
        select = lambda a, b: jnp.where(keep, a, b)
        failed = (lane.failed | (keep & (solver_result != diffrax.RESULTS.successful))
                  | (controller_result != diffrax.RESULTS.successful))
        interpolation = solver.interpolation_cls(t0=lane.tprev, t1=lane.tnext, **dense)
        moved = _Lane(lane.pid, tprev, tnext, select(y, lane.y),
                      jax.tree_util.tree_map(select, solver_state, lane.solver_state), controller_state,
                      select(made_jump, lane.made_jump), lane.sample, lane.steps + 1, failed)
        return moved, interpolation, keep, lane.tnext

    def pending(lane, keep, step_end, k):  # the samples due in the steps just taken: up to k per lane, (L, k)
        q = order[jnp.minimum(lane.pid, size - 1)]
        index = lane.sample[:, None] + jnp.arange(k)
        t = setups.sample_t[q[:, None], jnp.minimum(index, samples - 1)]
        due = ((lane.pid < size) & keep)[:, None] & (index < samples) & (t <= step_end[:, None])
        return q, index, t, due

    def save(carry):  # diffrax's save loop, `chunk` samples per lane at a time
        out, lane, interpolation, keep, step_end = carry
        q, index, t, due = pending(lane, keep, step_end, chunk)
        values = jax.vmap(lambda f, s: jax.vmap(f.evaluate)(s))(interpolation, t)
        out = out.at[jnp.where(due, q[:, None], size), index].set(values, mode="drop")
        lane = lane._replace(sample=lane.sample + jnp.sum(due, axis=1, dtype=lane.sample.dtype))
        return out, lane, interpolation, keep, step_end

    def due(carry):
        _, lane, _, keep, step_end = carry
        return jnp.any(pending(lane, keep, step_end, 1)[-1])

    def body(state):
        lane, out, steps, failed, queued = state
        lane, interpolation, keep, step_end = jax.vmap(advance)(lane)
        out, lane, *_ = jax.lax.while_loop(due, save, (out, lane, interpolation, keep, step_end))
        q = order[jnp.minimum(lane.pid, size - 1)]
        end = setups.end[q]
        done = (lane.pid < size) & ((lane.tprev >= end) | lane.failed | (lane.steps >= max_steps))
        record = jnp.where(done, q, size)
        steps = steps.at[record].set(lane.steps, mode="drop")
        failed = failed.at[record].set(lane.failed | (lane.tprev < end), mode="drop")
        lane = lane._replace(pid=jnp.where(done, size, lane.pid))

        # idle lanes (up to `refills` an iteration) take the next protocols in the queue
        def refill(carry):
            lane, queued = carry
            idle = jnp.nonzero(lane.pid >= size, size=refills, fill_value=lanes)[0]
            pid = queued + jnp.arange(refills)
            take = (idle < lanes) & (pid < size)
            fresh = jax.vmap(start)(jnp.where(take, pid, size))
            at = jnp.where(take, idle, lanes)
            lane = jax.tree_util.tree_map(lambda a, f: a.at[at].set(f, mode="drop"), lane, fresh)
            return lane, queued + jnp.sum(take, dtype=queued.dtype)

        lane, queued = jax.lax.cond(jnp.any(lane.pid >= size) & (queued < size), refill, lambda c: c, (lane, queued))
        return lane, out, steps, failed, queued

    def running(state):
        return jnp.any(state[0].pid < size)

    first = jax.vmap(start)(jnp.arange(lanes))
    out = jnp.full((size, samples, setups.y0.shape[-1]), jnp.nan, dtype)
    state = (first, out, jnp.zeros((size,), jnp.int32), jnp.ones((size,), bool), jnp.asarray(lanes))
    _, ys, steps, failed, _ = jax.lax.while_loop(running, body, state)
    return jax.vmap(_run)(p, setups, ys, failed, steps)


__all__ = ["TOLERANCES", "SOLVERS", "MAX_STEPS", "SpringRun", "spring_slider", "spring_slider_batch",
           "spring_slider_stream"]
