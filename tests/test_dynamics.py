"""Rate-and-state friction: closed forms, spring-slider, batching, gradients, fitting, files, CLI."""
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from studio.dynamics import (
    Protocol,
    RsfParams,
    Segment,
    evolve_log_state,
    hold,
    log_state_rate,
    simulate,
    slide,
    slide_hold_slide,
    stack,
    steady_state_mu,
    velocity_steps,
)
from studio.dynamics.files import parse_protocol, parse_record, read_protocol, read_record, write_curve, write_protocol
from studio.dynamics.fit import FitError, FitProgress, Record, fit, fit_steps
from studio.dynamics.protocol import ProtocolError
from studio.dynamics.simulate import ParameterError, SolverError, run_batch
from studio.io.csv_target import CsvError

P = RsfParams(mu0=0.6, a=0.008, b=0.012, Dc_m=2e-5, V0_m_s=1e-6, k_per_m=2e3)
# steps up and down and a hold: the shape every spring-mode test shares (one compile per law/dtype)
STEPS_AND_HOLD = Protocol((slide(1e-6, slip_m=1e-4), slide(1e-5, slip_m=3e-4), hold(30.0),
                           slide(1e-5, slip_m=2e-4), slide(3e-6, slip_m=1e-4)))
TIMES = STEPS_AND_HOLD.sample_times(200)


# ---- imposed velocity: the closed forms -------------------------------------------------------

def _ode_log_theta(protocol, p, law, times, hold_velocity=2e-9):
    """ln θ by integrating the evolution law (scipy DOP853, tight) segment by segment."""
    v0 = protocol.start_velocity_m_s
    y = np.array([math.log(p.Dc_m / v0)])
    out, t0 = np.empty(len(times)), 0.0
    ends = np.cumsum(protocol.durations_s)
    for k, (end, v) in enumerate(zip(ends, protocol.velocities_m_s)):
        v = v if v > 0 else hold_velocity
        last = k == len(ends) - 1
        inside = (times >= t0) & ((times < end) | last)
        rhs = lambda t, z, v=v: [float(log_state_rate(law, v, z[0], p.Dc_m))]  # noqa: E731
        sol = solve_ivp(rhs, (t0, max(end, times[inside].max(initial=t0))), y, method="DOP853", rtol=1e-13,
                        atol=1e-13, dense_output=True)
        out[inside] = sol.sol(times[inside])[0]
        y, t0 = sol.sol(end), end
    return out


@pytest.mark.parametrize("law", ["aging", "slip"])
def test_closed_forms_match_the_ode_to_1e_6(law):
    run = simulate(STEPS_AND_HOLD, P, law=law, times_s=TIMES)
    reference = _ode_log_theta(STEPS_AND_HOLD, P, law, TIMES)
    theta, theta_ref = np.exp(run.log_theta), np.exp(reference)
    assert np.max(np.abs(theta / theta_ref - 1)) < 1e-6
    V = np.where(STEPS_AND_HOLD.velocity_at(TIMES) > 0, STEPS_AND_HOLD.velocity_at(TIMES), 2e-9)
    mu_ref = P.mu0 + P.a * np.log(V / P.V0_m_s) + P.b * np.log(P.V0_m_s * theta_ref / P.Dc_m)
    assert np.max(np.abs(run.mu / mu_ref - 1)) < 1e-6


def test_direct_effect_is_a_ln_v2_over_v1():
    protocol = velocity_steps((1e-6, 1e-5, 1e-7), slip_per_step_m=1e-4)
    step_1, step_2 = protocol.boundaries_s
    times = np.array([step_1 - 1e-9, step_1, step_2 - 1e-9, step_2])
    run = simulate(protocol, P, times_s=times)
    assert run.mu[1] - run.mu[0] == pytest.approx(P.a * math.log(10), rel=1e-6)
    assert run.mu[3] - run.mu[2] == pytest.approx(P.a * math.log(1e-2), rel=1e-6)


@pytest.mark.parametrize("law", ["aging", "slip"])
@pytest.mark.parametrize("mode", ["imposed", "spring"])
def test_steady_state_is_mu0_plus_a_minus_b_ln_v(law, mode):
    protocol = Protocol((slide(1e-6, slip_m=1e-4), slide(3e-5, slip_m=1e-2)))  # 500 Dc after the step
    run = simulate(protocol, P, mode=mode, law=law, times_s=np.array([0.0, protocol.total_duration_s]))
    assert run.mu[0] == pytest.approx(0.6, abs=1e-12)
    expected = float(steady_state_mu(P, 3e-5))
    assert expected == pytest.approx(0.6 + (P.a - P.b) * math.log(30))
    assert run.mu[-1] == pytest.approx(expected, abs=1e-9)


def test_aging_law_heals_b_ln_theta0_plus_t_over_theta0():
    assert float(evolve_log_state("aging", math.log(20.0), 0.0, 80.0, 1e-5)) == pytest.approx(math.log(100.0))
    assert float(evolve_log_state("slip", math.log(20.0), 0.0, 80.0, 1e-5)) == pytest.approx(math.log(20.0))
    # imposed mode, a hold at a vanishing slider velocity: μ(t) − μ(hold start) = b·ln((θ0 + t)/θ0)
    protocol = Protocol((slide(1e-6, slip_m=1e-4), hold(1000.0)), hold_velocity_m_s=1e-15)
    start = protocol.boundaries_s[0]
    t = np.array([1.0, 10.0, 100.0, 1000.0])
    run = simulate(protocol, P, times_s=np.concatenate([[start], start + t]))
    theta0 = P.Dc_m / 1e-6
    assert np.allclose(run.mu[1:] - run.mu[0], P.b * np.log((theta0 + t) / theta0), rtol=1e-7, atol=1e-12)


def test_two_state_variables_steady_state_and_spring_consistency():
    p2 = P._replace(b2=0.004, Dc2_m=2e-4)
    protocol = Protocol((slide(1e-6, slip_m=1e-4), slide(1e-5, slip_m=2e-2)))
    run = simulate(protocol, p2, times_s=np.array([0.0, protocol.total_duration_s]))
    assert run.mu[-1] == pytest.approx(0.6 + (P.a - P.b - 0.004) * math.log(10), abs=1e-9)
    spring = simulate(STEPS_AND_HOLD, p2, mode="spring", times_s=TIMES)
    assert np.all(np.isfinite(spring.log_theta2))
    assert np.max(np.abs(spring.mu - spring.mu[0] - 2e3 * (spring.load_point_m - spring.slip_m))) < 1e-9


# ---- the spring-slider -------------------------------------------------------------------------

def _radau_spring(protocol, p, law, times):
    """Independent reference: the classical (ln V, ln θ, δ) spring-slider ODE with scipy Radau."""
    def rhs(t, y, v_lp):
        V = math.exp(y[0])
        rate = math.exp(-y[1]) - V / p.Dc_m if law == "aging" else -(V / p.Dc_m) * (math.log(V / p.Dc_m) + y[1])
        return [(p.k_per_m * (v_lp - V) - p.b * rate) / p.a, rate, V]

    v0 = protocol.start_velocity_m_s
    y = np.array([math.log(v0), math.log(p.Dc_m / v0), 0.0])
    out = np.empty((len(times), 3))
    t0 = 0.0
    ends = np.cumsum(protocol.durations_s)
    for k, (end, v_lp) in enumerate(zip(ends, protocol.velocities_m_s)):
        inside = (times >= t0) & ((times < end) | (k == len(ends) - 1))
        sol = solve_ivp(rhs, (t0, end), y, method="Radau", rtol=1e-11, atol=1e-13, dense_output=True, args=(v_lp,))
        assert sol.success
        out[inside] = sol.sol(times[inside]).T
        y, t0 = sol.y[:, -1], end
    log_V, log_theta, slip = out.T
    mu = p.mu0 + p.a * (log_V - math.log(p.V0_m_s)) + p.b * (log_theta + math.log(p.V0_m_s / p.Dc_m))
    return mu, slip


@pytest.mark.slow
@pytest.mark.parametrize("law", ["aging", "slip"])
def test_spring_slider_matches_scipy_radau(law):
    run = simulate(STEPS_AND_HOLD, P, mode="spring", law=law, times_s=TIMES)
    mu, slip = _radau_spring(STEPS_AND_HOLD, P, law, TIMES)
    assert np.max(np.abs(run.mu - mu)) < 1e-8
    assert np.max(np.abs(run.slip_m - slip)) < 1e-6 * np.max(slip)
    # the slip is part of the ODE state: the spring's stretch balances μ at every sample
    assert np.max(np.abs(run.mu - run.mu[0] - P.k_per_m * (run.load_point_m - run.slip_m))) < 1e-9
    # the slider creeps during the hold: μ relaxes while the load point stands still
    in_hold = (TIMES > STEPS_AND_HOLD.boundaries_s[1]) & (TIMES < STEPS_AND_HOLD.boundaries_s[2])
    assert np.all(np.diff(run.mu[in_hold]) < 0)


@pytest.mark.parametrize("mode, tolerance", [("imposed", 2e-6), ("spring", 2e-5)])
def test_float32_fast_path_tracks_float64(mode, tolerance):
    ref = simulate(STEPS_AND_HOLD, P, mode=mode, times_s=TIMES)
    fast = simulate(STEPS_AND_HOLD, P, mode=mode, times_s=TIMES, dtype=np.float32)
    assert fast.mu.dtype == np.float32
    assert np.max(np.abs(fast.mu - ref.mu)) < tolerance


@pytest.mark.parametrize("mode", ["imposed", "spring"])
def test_batches_over_protocols_and_parameters_equal_single_runs(mode):
    protocols = [STEPS_AND_HOLD, velocity_steps((1e-6, 3e-6, 1e-6), slip_per_step_m=1e-4)]
    params = P._replace(a=np.array([0.008, 0.01]), Dc_m=np.array([2e-5, 5e-5]))
    batch = stack(protocols, times_s=TIMES)
    together = simulate(batch, params, mode=mode)
    for i, protocol in enumerate(protocols):
        alone = simulate(protocol, P._replace(a=float(params.a[i]), Dc_m=float(params.Dc_m[i])), mode=mode,
                         times_s=TIMES)
        assert np.allclose(together.mu[i], alone.mu, rtol=0, atol=1e-10)


@pytest.mark.parametrize("law", ["aging", "slip"])
def test_the_stream_takes_the_batch_solvers_steps(law):
    # spring_slider_stream (what simulate runs in float64) refills its lanes from a queue: each protocol
    # still gets diffeqsolve's steps, so the batch solver's result to round-off; more protocols than lanes,
    # unlike lengths, a second state variable, and a protocol that runs out of steps
    from studio.dynamics.spring import spring_slider_batch, spring_slider_stream

    protocols = [STEPS_AND_HOLD, velocity_steps((1e-6, 3e-6, 1e-6), slip_per_step_m=1e-4),
                 Protocol((slide(1e-6, slip_m=1e-5),)), velocity_steps((1e-5, 1e-6), slip_per_step_m=2e-4)] * 2
    size = len(protocols)
    arrays = [jnp.asarray(a, jnp.float64) for a in stack(protocols, times_s=TIMES)][:4]
    params = P._replace(a=jnp.linspace(0.006, 0.01, size), Dc_m=jnp.linspace(1e-5, 5e-5, size),
                        b2=jnp.full(size, 0.002), Dc2_m=jnp.full(size, 1e-4))
    batch = spring_slider_batch(params, *arrays, law=law)
    stream = spring_slider_stream(params, *arrays, law=law, lanes=3, chunk=2)
    assert np.all(stream.ok) and np.array_equal(stream.steps, batch.steps)
    for name in ("mu", "velocity_m_s", "slip_m", "load_point_m"):
        assert np.allclose(getattr(stream, name), getattr(batch, name), rtol=1e-9, atol=1e-11), name
    assert np.max(np.abs(stream.log_theta2 - batch.log_theta2)) < 1e-8
    short = spring_slider_stream(params, *arrays, law=law, lanes=3, max_steps=40)
    assert np.array_equal(np.asarray(short.ok), np.asarray(batch.steps) <= 40)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["imposed", "spring"])
def test_gradients_match_central_differences(mode):
    batch = stack(STEPS_AND_HOLD, times_s=TIMES)
    names = ["mu0", "a", "b", "Dc_m"] + (["k_per_m"] if mode == "spring" else [])
    weights = jnp.asarray(np.linspace(1.0, 2.0, len(TIMES)))

    def loss(values):
        p = P._replace(**dict(zip(names, values)))
        return jnp.sum(weights * run_batch(batch, p, mode=mode).mu[0])

    x = jnp.array([getattr(P, n) for n in names])
    grad = np.asarray(jax.grad(loss)(x))
    for i in range(len(names)):
        h = 1e-5 * abs(float(x[i]))
        fd = (float(loss(x.at[i].add(h))) - float(loss(x.at[i].add(-h)))) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-5, abs=1e-9), names[i]


def test_bad_parameters_and_solver_failures_are_named():
    with pytest.raises(ParameterError, match="Dc_m"):
        simulate(STEPS_AND_HOLD, P._replace(Dc_m=-1e-5))
    with pytest.raises(ParameterError, match="k_per_m"):
        simulate(STEPS_AND_HOLD, P._replace(k_per_m=None), mode="spring")
    with pytest.raises(ProtocolError, match="segment 2: negative velocity"):
        Protocol((slide(1e-6, slip_m=1e-4), Segment(1.0, -1e-6)))
    # a solver that runs out of steps is reported with the protocol and the parameters, not returned
    with pytest.raises(SolverError, match=r"protocol 1: .*solver failed.*k_per_m=2000"):
        simulate(STEPS_AND_HOLD, P, mode="spring", times_s=TIMES, max_steps=3)
    failed = simulate(STEPS_AND_HOLD, P, mode="spring", times_s=TIMES, max_steps=3, check=False)
    assert not failed.ok


# ---- fitting -----------------------------------------------------------------------------------

FIT_PROTOCOL = velocity_steps((1e-6, 1e-5, 1e-6, 1e-5), slip_per_step_m=3e-4)
FIT_TIMES = FIT_PROTOCOL.sample_times(800, boundaries=True)


def _record(mode="imposed", law="aging", p=P, noise=0.0, seed=0):
    mu = simulate(FIT_PROTOCOL, p, mode=mode, law=law, times_s=FIT_TIMES).mu
    mu = mu + noise * np.random.default_rng(seed).standard_normal(mu.shape)
    return Record(FIT_TIMES, mu, FIT_PROTOCOL, source="synthetic.csv")


@pytest.mark.parametrize("mode, law", [("imposed", "aging"), ("imposed", "slip"),
                                       pytest.param("spring", "aging", marks=pytest.mark.slow)])
def test_fit_recovers_noiseless_parameters_to_1e_6(mode, law):
    result = fit(_record(mode, law), mode=mode, law=law)
    assert result.converged, result.message
    names = ["mu0", "a", "b", "Dc_m"] + (["k_per_m"] if mode == "spring" else [])
    for name in names:
        assert result.values[name] == pytest.approx(getattr(P, name), rel=1e-6), name
    assert result.r2 > 0.999999
    json_line = result.to_json()
    for key in ("mu0", "a", "b", "Dc_m", "a_minus_b", "a_minus_b_2sigma", "r2", "residual", "a_2sigma", "Dc_m_2sigma"):
        assert key in json_line
    assert ("k" in json_line) == (mode == "spring")


def test_fit_intervals_cover_the_truth_with_noise():
    result = fit(_record(noise=1e-4, seed=3))
    assert result.converged
    for name in ("a", "b", "Dc_m"):
        assert 0 < result.two_sigma[name] < abs(result.values[name])
        assert abs(result.values[name] - getattr(P, name)) < 2.5 * result.two_sigma[name]
    assert result.a_minus_b == pytest.approx(result.values["a"] - result.values["b"])
    assert 0 < result.a_minus_b_2sigma < result.two_sigma["a"] + result.two_sigma["b"]
    assert result.residual_rms == pytest.approx(1e-4, rel=0.15)


def test_fix_and_detrend():
    result = fit(_record(), fix={"Dc_m": 2e-5, "mu0": 0.6})
    assert result.values["Dc_m"] == 2e-5 and result.two_sigma["Dc_m"] is None
    assert result.values["b"] == pytest.approx(P.b, rel=1e-8)
    record = _record()
    record.mu = record.mu + 3.0 * FIT_PROTOCOL.displacement_at(FIT_TIMES)  # μ drifts 3 per metre of slip
    result = fit(record, detrend=True)
    assert result.values["trend_per_m"] == pytest.approx(3.0, rel=1e-6)
    assert result.values["a"] == pytest.approx(P.a, rel=1e-6)
    with pytest.raises(FitError, match="--fix k_per_m"):
        fit(_record(), fix={"k_per_m": 1e3})


def test_fit_is_a_generator_that_reports_progress_and_can_be_cancelled():
    steps = fit_steps(_record(noise=1e-4))
    first = next(steps)
    assert isinstance(first, FitProgress) and first.stage == "initial search"
    second = next(steps)
    assert second.iteration == 1 and math.isfinite(second.cost) and set(second.values) == {"mu0", "a", "b", "Dc_m"}
    steps.close()  # a GUI job stops between iterations
    calls = []
    result = fit(_record(noise=1e-4), cancel=lambda: calls.append(1) or len(calls) > 1)
    assert not result.converged and "cancelled after 1 iterations" in result.message


def test_fit_that_does_not_converge_says_so_with_its_best_point():
    result = fit(_record(noise=1e-4), max_iterations=1)
    assert not result.converged
    assert "did not converge in 1 iterations" in result.message and "cost" in result.message
    assert math.isfinite(result.cost) and set(result.values) == {"mu0", "a", "b", "Dc_m"}


def test_records_that_cannot_constrain_dc_are_refused():
    flat = Record(FIT_TIMES[:50], np.full(50, 0.6), Protocol((slide(1e-6, slip_m=1e-3),)), source="flat.csv")
    with pytest.raises(FitError, match="flat.csv: the velocity never changes"):
        fit(flat)
    # the step comes at the very end: too few samples after it
    protocol = Protocol((slide(1e-6, slip_m=1e-3), slide(1e-5, slip_m=1e-6)))
    times = protocol.sample_times(100)
    short = Record(times, simulate(protocol, P, times_s=times).mu, protocol, source="short.csv",
                   lines=np.arange(100) + 2)
    with pytest.raises(FitError, match=r"short.csv, line \d+: only \d samples after the first velocity change"):
        fit(short)
    # a step followed by less slip than Dc: the fitted Dc cannot be trusted
    protocol = Protocol((slide(1e-6, slip_m=1e-4), slide(1e-5, slip_m=5e-6)))
    times = np.concatenate([np.linspace(0, 100, 100, endpoint=False), np.linspace(100, 100.5, 100)])
    brief = Record(times, simulate(protocol, P, times_s=times).mu, protocol, source="brief.csv")
    with pytest.raises(FitError, match="Dc_m = .* is longer than the .* of slip recorded after the first"):
        fit(brief)


# ---- files and the command line -----------------------------------------------------------------

def test_protocol_csv_round_trip_and_slip_rows(tmp_path):
    path = write_protocol(tmp_path / "shs.csv", slide_hold_slide((1, 10, 100)))
    back = read_protocol(path)
    assert np.allclose(back.durations_s, slide_hold_slide((1, 10, 100)).durations_s, rtol=1e-12)
    text = "# slide by slip, hold by time\nslip (µm);duration (s);v (µm/s)\n100;0;10\n0;30;0\n50;0;10\n"
    protocol = parse_protocol(text, "mixed.csv")
    assert np.allclose(protocol.durations_s, [10, 30, 5]) and np.allclose(protocol.velocities_m_s, [1e-5, 0, 1e-5])
    with pytest.raises(ProtocolError, match="mixed.csv, line 3: negative velocity"):
        parse_protocol("slip (m),duration (s),velocity (m/s)\n1e-4,0,1e-5\n0,3,-1e-6\n", "mixed.csv")
    with pytest.raises(ProtocolError, match="bad.csv, line 2: duration 5 s and slip 0.0001 m disagree"):
        parse_protocol("duration (s),slip (m),velocity (m/s)\n5,1e-4,1e-6\n", "bad.csv")


def test_record_reader_units_dialects_and_bad_rows():
    text = ("# tribometer export\nTime [ms];V_lp [µm/s];µ [-]\n0;1;0,600\n1000;1;0,600\n2000;10;0,612\n"
            "3000;10;0,605\n")
    record = parse_record(text, "export.csv")
    assert np.allclose(record.times_s, [0, 1, 2, 3]) and np.allclose(record.mu, [0.6, 0.6, 0.612, 0.605])
    assert np.allclose(record.protocol.durations_s, [2, 1]) and np.allclose(record.protocol.velocities_m_s, [1e-6, 1e-5])
    displacement = "time (s),displacement (um),mu\n0,0,0.6\n1,1,0.6\n2,11,0.61\n3,21,0.6\n"
    assert np.allclose(parse_record(displacement, "d.csv").protocol.velocities_m_s, [1e-6, 1e-5])
    with pytest.raises(CsvError, match="late.csv, line 4: time 1 s does not increase"):
        parse_record("time (s),velocity (m/s),mu\n0,1e-6,0.6\n2,1e-6,0.6\n1,1e-6,0.6\n", "late.csv")
    with pytest.raises(CsvError, match="neg.csv, line 3: negative velocity"):
        parse_record("time (s),velocity (m/s),mu\n0,1e-6,0.6\n1,-1e-6,0.6\n2,1e-6,0.6\n", "neg.csv")
    with pytest.raises(CsvError, match="nan.csv, line 3, column 3: 'nan' is not a finite number"):
        parse_record("time (s),velocity (m/s),mu\n0,1e-6,0.6\n1,1e-6,nan\n", "nan.csv")


def test_cli_simulate_then_fit_round_trip(tmp_path, capsys):
    from studio.cli import main

    protocol = write_protocol(tmp_path / "steps.csv", FIT_PROTOCOL)
    curve = tmp_path / "curve.csv"
    assert main(["rsf", "simulate", str(protocol), "--a", "0.008", "--b", "0.012", "--Dc", "2e-5",
                 "--samples", "600", "--out", str(curve)]) == 0
    capsys.readouterr()
    assert main(["rsf", "fit", str(curve), "--law", "aging"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["converged"] and out["a"] == pytest.approx(0.008, rel=1e-6) and out["Dc_m"] == pytest.approx(2e-5, rel=1e-6)
    assert out["a_minus_b"] == pytest.approx(-0.004, rel=1e-5) and out["r2"] > 0.99999
    assert main(["rsf", "fit", str(curve), "--fix", "Dc_m=2e-5", "--fix", "b=0.012"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["Dc_m"] == 2e-5 and out["Dc_m_2sigma"] is None and out["fixed"] == ["Dc_m", "b"]
    assert main(["rsf", "fit", str(curve), "--max-iterations", "1"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["converged"] is False and "did not converge" in captured.err


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    from studio.cli import main

    bad = tmp_path / "bad.csv"
    bad.write_text("time (s),velocity (m/s),mu\n0,1e-6,0.6\n1,1e-6,0.6\n0.5,1e-5,0.61\n")
    assert main(["rsf", "fit", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.csv, line 4" in err
    assert main(["rsf", "fit", str(bad), "--fix", "Dc_m=abc"]) == 2
    assert "--fix 'Dc_m=abc': 'abc' is not a number" in capsys.readouterr().err
    assert main(["rsf", "simulate", "--preset", "slide-hold-slide", "--a", "0.01", "--b", "0.01",
                 "--Dc", "-1"]) == 2
    assert "Dc_m = -1.0 is not valid" in capsys.readouterr().err


def test_curve_csv_reads_back_as_a_record(tmp_path):
    run = simulate(FIT_PROTOCOL, P, mode="spring", times_s=FIT_TIMES)
    path = write_curve(tmp_path / "c.csv", FIT_PROTOCOL, run)
    record = read_record(path, mode="spring")
    assert np.allclose(record.mu, run.mu, rtol=1e-11)
    assert np.allclose(record.protocol.velocities_m_s, FIT_PROTOCOL.velocities_m_s, rtol=1e-12)


def test_fit_recovers_two_state_variables():
    p2 = P._replace(b2=0.005, Dc2_m=3e-4)
    protocol = velocity_steps((1e-6, 1e-5, 1e-6, 1e-5), slip_per_step_m=3e-3)
    times = protocol.sample_times(1500, boundaries=True)
    result = fit(Record(times, simulate(protocol, p2, times_s=times).mu, protocol), two_states=True)
    assert result.converged
    for name in ("a", "b", "Dc_m", "b2", "Dc2_m"):
        assert result.values[name] == pytest.approx(getattr(p2, name), rel=1e-6), name


def test_a_fit_is_a_studio_job_that_a_job_control_pauses_and_cancels():
    """fit_steps speaks the job contract (studio.jobs), so the one loop drives it anywhere."""
    from studio.jobs import Cancelled, JobControl, drive

    control, seen = JobControl(), []

    def cancel_after_two(progress):
        seen.append(progress)
        if len(seen) == 2:
            control.cancel()

    with pytest.raises(Cancelled):
        drive(fit_steps(_record(noise=1e-4), control=control), control, cancel_after_two)
    assert len(seen) == 2 and seen[1].iteration == 1
