"""N: auto and the compare view (pytest-qt, offscreen): N: auto proposes an N and a click applies it; the compare
view shows the chosen designs' numbers as studio.design computes them; closing either, or the window, stops its job."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings

from studio.design.auto_n import asperity_counts, good_enough_limit
from studio.design.details import compute_details
from studio.gui.auto_n import INVALID_LABEL
from studio.gui.main_window import MainWindow
from studio.physics import hertz_strain
from studio.physics.theta import B_IDX, E_STAR_IDX, TAU0_IDX
from test_gui import details_fn, set_target, slot_exceptions, window  # noqa: F401  (fixtures)
from test_gui_helpers import QUICK_ENGINES, mouse_click, quick_candidates, quick_spec

pg.setConfigOptions(mouseRateLimit=-1)
pytestmark = pytest.mark.gui


def finished(qtbot, w, job, timeout=120_000):
    qtbot.waitUntil(lambda: not job.active, timeout=timeout)
    qtbot.waitUntil(lambda: not w.runner.is_running(job), timeout=10_000)
    return job


def test_n_auto_proposes_the_best_and_smallest_good_n_and_a_click_applies_it(qtbot, window):
    w = window
    set_target(qtbot, w, "bilinear")
    dialog = w.show_auto_n()
    job = dialog.job
    assert job is not None and job in w.state.jobs.items and job.kind == "N: auto"   # a job of the shared table
    finished(qtbot, w, job)
    r = w.state.auto_n.result
    assert job.state == "finished" and r is job.result and w.state.auto_n.current
    assert r.counts == asperity_counts() and all(len(row.designs) == 4 for row in r.rows)  # K = 4 at every N
    errors = dict(zip(r.counts, r.errors_percent))
    valid = {row.N for row in r.rows if row.best.hertz_valid}
    eligible = {n: e for n, e in errors.items() if n in valid} or errors  # validity required (the default)
    assert r.require_valid and r.best_N == min(eligible, key=eligible.get)
    assert r.smallest_good_N == min(n for n, e in eligible.items() if e <= good_enough_limit(min(eligible.values())))
    # a count whose best design is not small-strain valid is marked × (and named in the legend only then)
    crossed = dialog.invalid_mark.getData()[0]
    crossed = [] if crossed is None else np.rint(10 ** np.asarray(crossed)).astype(int).tolist()
    assert sorted(crossed) == sorted(set(r.counts) - valid)
    legend_labels = [label.text for _, label in dialog.plot.legend.items]
    assert (INVALID_LABEL in legend_labels) == (len(valid) < len(r.counts))
    # the plot: one point per count (x on a log axis), the two proposals marked
    x, y = dialog.points.getData()
    np.testing.assert_allclose(10 ** np.asarray(x), r.counts, rtol=1e-9)
    np.testing.assert_allclose(y, r.errors_percent)
    assert 10 ** dialog.best_mark.getData()[0][0] == pytest.approx(r.best_N)
    assert 10 ** dialog.good_mark.getData()[0][0] == pytest.approx(r.smallest_good_N)
    assert f"{r.limit_percent:.2f} %" in dialog.limit_line.label.toPlainText()   # the rule's line, labelled
    assert f"N = {r.smallest_good_N}" in dialog.use_good.text() and f"N = {r.best_N}" in dialog.use_best.text()
    # clicking a count's point chooses that N: the target's N (one undo step) and the candidates follow
    before = w.state.target.N
    pick = next(n for n in r.counts if n != w.state.target.N and n not in (r.best_N, r.smallest_good_N))
    dialog.plot.autoRange()
    qtbot.wait(50)
    with qtbot.waitSignal(w.candidates.shown, timeout=60_000):
        mouse_click(dialog.view, np.log10(pick), errors[pick])
    assert w.state.target.N == pick and w.n_spin.value() == pick
    assert all(c.design.N == pick for c in w.gallery.cards)
    with qtbot.waitSignal(w.candidates.shown, timeout=60_000):
        dialog.use_good.click()
    assert w.state.target.N == r.smallest_good_N
    w.undo_action.trigger()
    assert w.state.target.N == before                                   # consecutive N changes: one undo step
    assert w.state.auto_n.current                                       # the proposal holds for the same law
    w.design.apply_preset("linear")
    assert not w.state.auto_n.current and not dialog.use_best.isEnabled()  # a new law: no stale proposal
    assert "target law changed" in dialog.info.text()


@pytest.fixture
def details_fn():  # noqa: F811  (the real band and layout: the compare view's numbers are studio.design's)
    return compute_details


def test_compare_view_shows_the_chosen_designs_numbers_matching_design_details(qtbot, window):
    w = window
    set_target(qtbot, w, "power law")
    board = w.state.board
    a, b = board.entries[0], board.entries[2]
    board.set_pinned(a, True)
    board.set_pinned(b, True)
    dialog = w.show_compare()
    assert w.state.compare.designs == [a.design, b.design]                # the pinned cards, by default
    finished(qtbot, w, dialog.job)
    facts = w.state.compare.facts
    assert [f.name for f in facts] == [a.design.name, b.design.name]
    target = w.state.target.target
    for col, design in enumerate([a.design, b.design]):
        details = compute_details(design)
        asp = design.real_asperities()
        cell = {dialog.table.verticalHeaderItem(r).text(): dialog.table.item(r, col).text()
                for r in range(dialog.table.rowCount())}
        assert cell["N"] == str(design.N)
        assert float(cell["sMAPE %"]) == pytest.approx(target.error(design.friction_N), abs=0.006)
        assert float(cell["E* MPa"]) == pytest.approx(design.theta[E_STAR_IDX], abs=6e-4)
        assert float(cell["τ0 MPa"]) == pytest.approx(design.theta[TAU0_IDX], abs=6e-5)
        assert float(cell["B"]) == pytest.approx(design.theta[B_IDX], abs=6e-5)
        d_over_r = hertz_strain(asp.height_mm, asp.radius_mm, design.theta[E_STAR_IDX], design.max_load_N)
        assert float(cell["largest d/R"]) == pytest.approx(d_over_r, abs=6e-5)
        assert cell["Hertz valid"] == ("yes" if details.hertz_valid else "no ⚠")
        assert cell["footprint mm"] == "{:.1f} × {:.1f}".format(*details.layout.footprint_mm)
        column = dialog.columns[col]
        np.testing.assert_allclose(column.law_curve.getData()[1], design.friction_N)
        np.testing.assert_allclose(column.resid_curve.getData()[1], design.residual_percent(target), equal_nan=True)
        np.testing.assert_allclose(column.centres.getData()[0], details.x_mm)
    assert dialog.columns[2].law_curve.getData()[0] is None or len(dialog.columns[2].law_curve.getData()[0]) == 0
    # a third design chosen from the candidates joins the comparison
    c = board.entries[1]
    third = dialog.choosers[2]
    third.setCurrentIndex(third.findData(c.design))
    finished(qtbot, w, dialog.job)
    assert [f.name for f in w.state.compare.facts] == [a.design.name, b.design.name, c.design.name]
    assert dialog.table.item(0, 2).text() == str(c.design.N)


def slow_candidates(target, *, control=None, **kw):
    for _ in range(200):  # 2 s at every N: the job is still running when the dialog or the window closes
        time.sleep(0.01)
        control.checkpoint()
    return (yield from quick_candidates(target, control=control, **kw))


def test_closing_n_auto_or_the_compare_view_stops_its_job(qtbot, window):
    w = window
    set_target(qtbot, w)
    w.engines.table = dict(QUICK_ENGINES, candidates=quick_spec("candidates", slow_candidates))
    dialog = w.show_auto_n()
    job = dialog.job
    qtbot.waitUntil(lambda: job.progress is not None, timeout=10_000)
    dialog.close()
    finished(qtbot, w, job, timeout=10_000)
    assert job.state == "cancelled" and w.state.auto_n.result is None

    def slow_details(design):
        time.sleep(1.0)
        return compute_details(design)
    w.details.details_fn = slow_details
    w.compare_dialog = None
    view = w.show_compare([e.design for e in w.state.board.entries[:3]])
    cjob = view.job
    view.close()
    finished(qtbot, w, cjob, timeout=20_000)
    assert cjob.state == "cancelled" and w.state.compare.facts == []


def test_closing_the_window_stops_n_auto_and_compare_jobs(qtbot, tmp_path, slot_exceptions):  # noqa: F811
    w = MainWindow(engines=dict(QUICK_ENGINES, candidates=quick_spec("candidates", slow_candidates)),
                   settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), load_model_info=False,
                   details_fn=lambda d: (time.sleep(1.0), compute_details(d))[1])
    w.mark_clean_exit_on_close = False
    qtbot.addWidget(w)
    w.show()
    w.k_spin.setValue(3)
    with qtbot.waitSignal(w.candidates.shown, timeout=60_000):
        w.design.apply_preset("linear")
    job = w.show_auto_n().job
    cjob = w.show_compare([e.design for e in w.state.board.entries[:2]]).job
    qtbot.waitUntil(lambda: job.progress is not None, timeout=10_000)
    w.close()
    assert job.control.cancelled and cjob.control.cancelled                # stopped by the close itself,
    assert not w.runner.is_running(job) and not w.runner.is_running(cjob)  # their threads joined
    qtbot.waitUntil(lambda: job.state == cjob.state == "cancelled", timeout=5_000)
