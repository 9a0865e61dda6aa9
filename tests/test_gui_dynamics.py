"""The Dynamics workspace, offscreen (pytest-qt): protocol editing, a measured record and its fit,
bad files, μ0 from the selected design, and a GRU training job that closing stops."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
import pytest

from test_gui import details_fn, open_window, set_target, slot_exceptions, window  # noqa: F401  (fixtures)
from test_gui_helpers import mouse_drag

pg.setConfigOptions(mouseRateLimit=-1)
pytestmark = pytest.mark.gui


def dynamics(qtbot, w):
    ws = next(x for x in w.workspaces if x.title == "Dynamics")
    if w.tabs.currentWidget() is not ws:
        qtbot.wait(300)
        assert ws.comparison is None  # a hidden tab computes nothing (the simulator compiles on first use)
    w.tabs.setCurrentWidget(ws)
    qtbot.waitUntil(lambda: ws.comparison is not None and (ws.model is not None or not ws.model_path), timeout=60_000)
    qtbot.waitUntil(lambda: ws.comparison.mu_gru is not None or ws.model is None, timeout=60_000)
    return ws


def curves(ws):
    return ws.rsf_curve.getData()[1].copy(), ws.gru_curve.getData()[1].copy()


def test_editing_a_protocol_updates_the_rsf_and_gru_curves(qtbot, window):
    ws = dynamics(qtbot, window)
    assert ws.model is not None and ws.comparison.error_percent is not None
    rsf0, gru0 = curves(ws)
    # a table edit: the last segment twice as fast
    row = ws.editor.table.rowCount() - 1
    v = float(ws.editor.table.item(row, 1).text())
    with qtbot.waitSignal(ws.computed, timeout=30_000):
        ws.editor.table.item(row, 1).setText(f"{2 * v:.6g}")
    rsf1, gru1 = curves(ws)
    assert ws.editor.protocol.segments[row].velocity_m_s == pytest.approx(2 * v)
    assert not np.allclose(rsf1[-10:], rsf0[-10:]) and not np.allclose(gru1[-10:], gru0[-10:])
    assert f"{ws.comparison.error_percent:.2f} %" in ws.info.text()
    # a drag on the plot: the first segment's handle pulled up one decade
    handle = ws.editor.handles[0]
    x, y = handle.pos().x(), handle.pos().y()
    plot = ws.editor.plot_widget
    with qtbot.waitSignal(ws.computed, timeout=30_000):
        mouse_drag(plot, [(x, y), (x, y + 0.25), (x, y + 0.5), (x, y + 0.75), (x, y + 1)])
    v0 = ws.editor.protocol.segments[0].velocity_m_s
    assert v0 == pytest.approx(10 ** (y + 1), rel=0.1)
    assert float(ws.editor.table.item(0, 1).text()) == pytest.approx(v0)
    rsf2, gru2 = curves(ws)
    assert not np.allclose(rsf2, rsf1[: len(rsf2)]) or len(rsf2) != len(rsf1)
    assert not np.allclose(gru2, gru1)


def test_a_bad_table_cell_is_a_banner_and_keeps_the_protocol(qtbot, window):
    ws = dynamics(qtbot, window)
    before = ws.editor.protocol
    ws.editor.table.item(0, 0).setText("abc")
    qtbot.waitUntil(window.banner.isVisible, timeout=5_000)
    assert window.banner.label.text() == "protocol table, row 1: duration 'abc' is not a number"
    assert ws.editor.protocol is before


def _write_record(path, noise=1e-4):
    from studio.dynamics import RsfParams, simulate, velocity_steps
    from studio.dynamics.files import write_curve

    protocol = velocity_steps((1e-6, 1e-5, 1e-6, 1e-5), slip_per_step_m=3e-4)
    p = RsfParams(mu0=0.6, a=0.008, b=0.012, Dc_m=2e-5, V0_m_s=1e-6)
    t = protocol.sample_times(600, boundaries=True)
    run = simulate(protocol, p, times_s=t)
    run = run._replace(mu=run.mu + noise * np.random.default_rng(0).standard_normal(run.mu.shape))
    write_curve(path, protocol, run)
    return p


def test_a_measured_record_is_fitted_with_intervals_and_the_gru_beside_it(qtbot, window, tmp_path):
    ws = dynamics(qtbot, window)
    truth = _write_record(tmp_path / "steps.csv")
    with qtbot.waitSignal(ws.record_loaded, timeout=30_000):
        ws.open_record(tmp_path / "steps.csv")
    assert len(ws.record_curve.getData()[0]) > 600 and ws.buttons["Fit"].isEnabled()
    with qtbot.waitSignal(ws.fitted, timeout=120_000):
        ws.buttons["Fit"].click()
    job = ws.fit_job
    assert job.kind == "RSF fit" and job.state == "finished" and window.jobs_table.rowCount() >= 1
    result = ws.fit_result
    for key in ("a", "b", "Dc_m"):  # the 2σ intervals shown cover the truth
        assert abs(result.values[key] - getattr(truth, key)) <= result.two_sigma[key]
    assert ws.fit_table.isVisible()
    texts = [ws.fit_table.item(r, 1).text() for r in range(ws.fit_table.rowCount())]
    assert any("±" in t and "µm" in t for t in texts)
    assert ws.a_spin.value() == pytest.approx(result.values["a"], abs=1e-4)
    qtbot.waitUntil(lambda: ws.comparison is not None and ws.comparison.mu_rsf.size > 0 and
                    ws.editor.protocol is ws.record.protocol, timeout=30_000)
    fit_t, fit_mu = ws.fit_curve.getData()
    assert np.max(np.abs(fit_mu - np.interp(fit_t, *ws.record_curve.getData()))) < 1e-3
    assert len(ws.gru_curve.getData()[0]) == 100  # the learned model's prediction beside the fit


def test_a_bad_record_csv_gives_the_banner_with_file_and_line(qtbot, window, tmp_path):
    ws = dynamics(qtbot, window)
    bad = tmp_path / "broken-record.csv"
    bad.write_text("time (s),velocity (m/s),mu\n0,1e-6,0.6\n1,1e-6,0.61\n1,1e-5,0.62\n")
    ws.open_record(bad)
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    text = window.banner.label.text()
    assert "broken-record.csv, line 4" in text and "does not increase" in text
    assert ws.record is None and not ws.buttons["Fit"].isEnabled()


def test_mu0_comes_from_the_selected_designs_static_law(qtbot, window):
    ws = dynamics(qtbot, window)
    set_target(qtbot, window)
    window.tabs.setCurrentWidget(ws)
    ws.load_spin.setValue(4.0)
    ws.from_design.setChecked(True)
    design = window.state.board.selected.design
    expected = float(np.interp(4.0, design.load_N, design.friction_N)) / 4.0
    assert ws.mu0_spin.value() == pytest.approx(expected, abs=1e-4) and not ws.mu0_spin.isEnabled()
    qtbot.waitUntil(lambda: abs(ws.comparison.mu_rsf[0] - ws.mu0_spin.value()) < 1e-9, timeout=30_000)


def test_closing_with_a_training_job_running_stops_it(qtbot, tmp_path, slot_exceptions):  # noqa: F811
    from studio.cli import main

    folder = tmp_path / "records"
    folder.mkdir()
    for i in range(3):
        assert main(["rsf", "simulate", "--preset", "velocity-steps", "--a", "0.008", "--b", "0.012", "--Dc",
                     "2e-5", "--samples", "200", "--out", str(folder / f"r{i}.csv")]) == 0
    w = open_window(qtbot, tmp_path, K=2)
    ws = dynamics(qtbot, w)
    job = ws.learn_from_records(folder, epochs=10_000, hidden=8)
    qtbot.waitUntil(lambda: job.progress is not None, timeout=30_000)
    assert job.kind == "GRU training" and 0 < job.progress.fraction < 0.01
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 10
    assert not w.runner.is_running(job) and job.control.cancelled
    qtbot.waitUntil(lambda: job.state == "cancelled", timeout=5_000)  # the end is reported through the event loop
    assert not (folder / "gru-records.safetensors").exists()  # a stopped training writes no model
