"""N: auto and the compare facts (studio.design.auto_n, studio.design.compare): the rule, the job, the model."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from studio.design.auto_n import (GOOD_ENOUGH_POINTS, GOOD_ENOUGH_RATIO, AutoN, AutoNRow, asperity_counts, auto_n,
                                  good_enough_limit)
from studio.design.compare import compare_job, design_facts
from studio.design.core import Design, Progress
from studio.design.details import compute_details
from studio.design.engines import ENGINES
from studio.design.targets import preset_sketch
from studio.errors import StudioError
from studio.jobs import Cancelled, JobControl, drive
from studio.physics import THETA_LOWER, THETA_UPPER, hertz_strain
from studio.physics.theta import B_IDX, E_STAR_IDX, TAU0_IDX

THETA = (THETA_LOWER + THETA_UPPER) / 2


def fake_engine(errors: dict[int, float], calls: list):
    """A stand-in candidates engine: at each N, two designs whose sMAPE is errors[N] and errors[N] + 1."""
    def run(target, *, seed=0, time_budget_s=1.0, control=None, count=4, **options):
        calls.append((target.N, seed, count))
        e = errors[target.N]
        designs = [Design(THETA, target.N, s, method="candidates", error_percent=e + s) for s in (1, 0)]
        yield Progress(1, 2, e, designs[1], 0.0, 0.5, "ranking")
        return designs  # worst first on purpose: auto_n sorts
    return dataclasses.replace(ENGINES["candidates"], run=run)


def test_counts_are_log_spaced_over_the_models_range():
    counts = asperity_counts()
    assert counts[0] == 16 and counts[-1] == 256 and len(counts) == 9
    ratios = np.diff(np.log(counts))
    assert np.allclose(ratios, np.log(2) / 2, atol=0.03)             # √2 apart
    with pytest.raises(StudioError):
        asperity_counts(1)


def test_the_rule_takes_the_looser_of_half_a_point_and_twenty_percent():
    assert good_enough_limit(1.0) == pytest.approx(1.0 + GOOD_ENOUGH_POINTS)      # 1.5 > 1.2
    assert good_enough_limit(5.0) == pytest.approx(5.0 * GOOD_ENOUGH_RATIO)       # 6.0 > 5.5
    rows = [AutoNRow(n, [Design(THETA, n, 0, error_percent=e)]) for n, e in [(16, 9.0), (32, 6.4), (64, 5.9),
                                                                               (128, 5.0), (256, 5.1)]]
    result = AutoN(rows)
    assert result.best_N == 128 and result.smallest_good_N == 64  # 6.4 > 6.0 ≥ 5.9


def test_auto_n_runs_the_engine_at_every_count_and_proposes_the_best_and_the_smallest_good_n():
    errors = {16: 7.0, 23: 3.2, 32: 2.9, 45: 2.1, 64: 2.0, 91: 2.3, 128: 2.2, 181: 2.05, 256: 2.4}
    calls, reports = [], []
    target = preset_sketch("power law", mu=0.3).target(64)
    result = drive(auto_n(target, engine=fake_engine(errors, calls), seed=5, count=2), on_progress=reports.append)
    assert [c[0] for c in calls] == asperity_counts() and {c[1:] for c in calls} == {(5, 2)}
    assert result.counts == asperity_counts() and result.errors_percent == [errors[n] for n in result.counts]
    assert all(r.designs[0].error_percent <= r.designs[1].error_percent for r in result.rows)  # best first
    assert result.best_N == 64 and result.smallest_good_N == 45     # limit 2.5 %: 23 (3.2) and 32 (2.9) are not
    fractions = [p.fraction for p in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert reports[-1].done == [(n, errors[n]) for n in asperity_counts()]


def test_auto_n_can_be_cancelled_between_counts():
    calls = []
    control = JobControl()
    target = preset_sketch("linear", mu=0.3).target(64)
    job = auto_n(target, engine=fake_engine({n: 1.0 for n in asperity_counts()}, calls), control=control)

    def on_progress(p):
        if p.N == 32:
            control.cancel()
    with pytest.raises(Cancelled):
        drive(job, control, on_progress)
    assert [c[0] for c in calls] == [16, 23]                          # stopped before the engine ran at 32


def test_auto_n_with_the_shipped_model_scores_each_count_exactly():
    pytest.importorskip("torch")
    from studio.models import load_generator

    generator = load_generator()
    target = preset_sketch("bilinear", mu=0.3).target(64)
    result = drive(auto_n(target, counts=[16, 48, 96], count=4, generator=generator))
    assert result.counts == [16, 48, 96]
    for row in result.rows:
        assert all(d.N == row.N and d.model for d in row.designs)     # the CVAE's designs at that N
        best = row.best
        again = Design.evaluate(best.theta, row.N, best.seed, target=dataclasses.replace(target, N=row.N))
        assert again.error_percent == pytest.approx(best.error_percent, abs=1e-9)
    assert result.errors_percent[result.counts.index(result.best_N)] == min(result.errors_percent)
    assert result.smallest_good_N <= result.best_N


def test_compare_facts_match_the_design_and_its_details():
    target = preset_sketch("power law", mu=0.3).target(32)
    designs = [Design.evaluate(THETA, 32, s, target, name=f"d{s}") for s in (1, 2)]
    known = compute_details(designs[0])
    control = JobControl()
    computed = []

    def details_fn(design):
        computed.append(design.name)
        return compute_details(design)
    facts = drive(compare_job(designs, target, details=[known, None], details_fn=details_fn, control=control),
                  control)
    assert computed == ["d2"]                                         # details it had are not computed again
    for design, f in zip(designs, facts):
        details = known if design is designs[0] else compute_details(design)
        a = design.real_asperities()
        assert f.name == design.name and f.N == 32
        assert f.smape_percent == pytest.approx(target.error(design.friction_N))
        assert (f.e_star_MPa, f.tau0_MPa, f.B) == (design.theta[E_STAR_IDX], design.theta[TAU0_IDX],
                                                   design.theta[B_IDX])
        assert f.largest_d_over_R == pytest.approx(hertz_strain(a.height_mm, a.radius_mm, f.e_star_MPa, 10.0))
        assert f.hertz_valid == details.hertz_valid == (f.largest_d_over_R <= 0.25)
        np.testing.assert_allclose(f.x_mm, details.x_mm)
        np.testing.assert_allclose(f.contact_radius_mm, details.contact_radius_mm[-1])
        np.testing.assert_allclose(f.residual_percent, design.residual_percent(target))
        assert f.height_pdf.shape[1] == f.height_values_mm.size


def test_compare_job_can_be_cancelled():
    target = preset_sketch("power law", mu=0.3).target(32)
    designs = [Design.evaluate(THETA, 32, s, target) for s in (1, 2, 3)]
    control = JobControl()
    control.cancel()
    with pytest.raises(Cancelled):
        drive(compare_job(designs, target, control=control), control)


def test_the_state_keeps_a_proposal_for_its_law_and_the_compared_designs_in_order():
    from studio.state import StudioState

    state = StudioState(N=64)
    state.target.edit(preset_sketch("power law", mu=0.3), "preset")
    rows = [AutoNRow(n, [Design(THETA, n, 0, error_percent=e)]) for n, e in [(16, 2.0), (32, 1.0)]]
    seen = []
    state.auto_n.changed.connect(seen.append)
    state.auto_n.set_result(AutoN(rows), state.target.target)
    assert seen and state.auto_n.current
    state.auto_n.apply(32)
    assert state.target.N == 32 and state.auto_n.current              # the same law at another N
    state.target.edit(preset_sketch("linear", mu=0.3), "preset")
    assert not state.auto_n.current                                    # another law: the proposal is stale

    a, b, c, d = (Design(THETA, 32, s) for s in range(4))
    state.compare.choose([a, b, a, None, c, d])
    assert state.compare.designs == [a, b, c]                          # duplicates dropped, three at most
    assert not state.compare.set_facts([a, b], ["x", "y"])             # facts for another choice: dropped
    assert state.compare.set_facts([a, b, c], ["x", "y", "z"]) and state.compare.facts == ["x", "y", "z"]


def test_auto_n_runs_in_a_worker_process_as_the_studio_runs_it():
    from studio.design.auto_n import AutoNProgress
    from studio.design.processes import EngineProcessPool

    target = preset_sketch("power law", mu=0.3).target(64)
    pool = EngineProcessPool(spare=0)
    reports = []
    try:
        control = JobControl()
        result = drive(pool.run_job(auto_n, (target,), dict(engine="candidates", counts=[16, 32], count=2),
                                    control=control), control, reports.append)
    finally:
        pool.shutdown()
    assert isinstance(result, AutoN) and result.counts == [16, 32]      # the result and reports cross the pipe
    assert all(isinstance(p, AutoNProgress) for p in reports) and reports[-1].fraction == 1.0
    assert all(d.N == row.N and d.model for row in result.rows for d in row.designs)  # the worker's shipped CVAE


def _with_strain(design: Design, strain: float) -> Design:
    design.__dict__["_strain"] = (design._strain_key(), strain)  # as the ranking leaves it
    return design


def test_with_validity_required_a_count_whose_best_design_is_invalid_is_not_proposed():
    # 16 is good enough by error but its best design leaves small strain; 128 is the lowest error but invalid too
    spec = [(16, 5.2, 0.31), (32, 5.5, 0.2), (64, 4.6, 0.1), (128, 4.4, 0.4), (256, 4.9, 0.05)]
    rows = [AutoNRow(n, [_with_strain(Design(THETA, n, 0, error_percent=e), s)]) for n, e, s in spec]
    assert AutoN(rows).best_N == 128 and AutoN(rows).smallest_good_N == 16          # validity not required
    required = AutoN(rows, require_valid=True)
    assert required.best_N == 64 and required.smallest_good_N == 32                  # 5.5 ≤ max(5.1, 5.52)
    assert required.summary()["best_hertz_valid"] == [False, True, True, False, True]
    none_valid = [AutoNRow(r.N, [_with_strain(r.best, 0.5)]) for r in rows]
    assert AutoN(none_valid, require_valid=True).best_N == 128                       # nothing valid: by error


def test_auto_n_keeps_the_engines_valid_first_order_at_each_count():
    calls = []
    valid, invalid = 0.1, 0.4

    def run(target, *, seed=0, time_budget_s=1.0, control=None, count=4, **options):
        calls.append(target.N)
        designs = [_with_strain(Design(THETA, target.N, 1, method="candidates", error_percent=1.0), invalid),
                   _with_strain(Design(THETA, target.N, 2, method="candidates", error_percent=3.0), valid)]
        yield Progress(1, 2, 1.0, designs[0], 0.0, 0.5, "ranking")
        return designs
    engine = dataclasses.replace(ENGINES["candidates"], run=run)
    target = preset_sketch("power law", mu=0.3).target(64)
    assert target.strain_limit is not None                                            # the default: required
    result = drive(auto_n(target, engine=engine, counts=[16, 64], count=2))
    assert result.require_valid and all(r.best.hertz_valid and r.error_percent == 3.0 for r in result.rows)
    allowed = drive(auto_n(dataclasses.replace(target, validity="off"), engine=engine, counts=[16, 64], count=2))
    assert not allowed.require_valid and all(r.error_percent == 1.0 for r in allowed.rows)
