"""GUI workflows, offscreen (pytest-qt): drawing, import, candidates, refinement jobs, files, closing.

Every test fails if an exception escapes into a Qt slot (the `slot_exceptions` fixture),
and every window is closed with its jobs' threads joined.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings

from studio.gui.inspector import DesignDetails, compute_details
from studio.gui.main_window import MainWindow
from studio.gui.sketch import preset_sketch
from studio.physics import LOAD_GRID_N
from test_gui_helpers import QUICK_ENGINES, mouse_click, mouse_drag, quick_spec

pg.setConfigOptions(mouseRateLimit=-1)  # otherwise pyqtgraph drops simulated mouse moves
pytestmark = pytest.mark.gui

EXAMPLE_CSV = "load (N),friction (N)\n" + "\n".join(f"{p:.3f},{0.25 * p ** 0.8:.4f}" for p in np.linspace(1, 8, 30))


@pytest.fixture
def slot_exceptions(monkeypatch):
    """Collect exceptions raised inside Qt slots/virtuals (they reach sys.excepthook); assert none."""
    caught = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: caught.append(info))
    yield caught
    assert not caught, "exception in a Qt slot: " + "".join(
        __import__("traceback").format_exception(*caught[0]))


def quick_details(design):
    """Band and layout stand-in (the real one, compute_details, is tested in test_selecting_a_card...)."""
    n = design.N
    a = np.full((128, n), 0.1)
    return DesignDetails(design.friction_N * 0.95, design.friction_N * 1.05, np.arange(n) * 0.5, np.zeros(n), a, True)


@pytest.fixture
def details_fn():
    return quick_details


@pytest.fixture
def window(qtbot, tmp_path, slot_exceptions, details_fn):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = MainWindow(engines=QUICK_ENGINES, settings=settings, session_path=tmp_path / "session.json",
                   refine_budget_s=1.0, load_model_info=False, details_fn=details_fn)
    w.mark_clean_exit_on_close = False
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    w.k_spin.setValue(4)
    yield w
    w.close()
    assert all(not j.job.is_thread_running() for j in w.jobs)


def set_target(qtbot, w, name="power law"):
    with qtbot.waitSignal(w.candidatesShown, timeout=30_000):
        w.apply_preset(name)


# --------------------------------------------------------------------------- target editing
def test_drawn_stroke_becomes_monotone_target_and_candidates(qtbot, window):
    w = window
    w.editor.plot.setXRange(0, 10, padding=0)
    w.editor.plot.setYRange(0, 4, padding=0)
    p = np.linspace(1.0, 9.0, 40)
    f = 0.3 * p + 0.15 * np.sin(3 * p)  # wiggly: not monotone as drawn
    with qtbot.waitSignal(w.candidatesShown, timeout=30_000):
        mouse_drag(w.editor.view, list(zip(p, f)))
    s = w.sketch
    assert s is not None and s.source == "sketch"
    assert np.all(np.diff(s.law_N) >= 0)                        # made non-decreasing
    covered = LOAD_GRID_N[s.mask]
    assert covered[0] == pytest.approx(1.0, abs=0.15) and covered[-1] == pytest.approx(9.0, abs=0.15)
    assert 6 <= len(s.handle_idx) <= 8
    assert np.interp(5.0, LOAD_GRID_N, s.law_N) == pytest.approx(1.5, abs=0.25)
    assert len(w.gallery.cards) == 4
    errors = [c.design.error_percent for c in w.gallery.cards]
    assert errors == sorted(errors)                             # best first
    assert w.undo.canUndo()


def test_dragging_a_handle_reshapes_the_law_and_undo_restores_it(qtbot, window):
    w = window
    set_target(qtbot, w, "linear")
    w.editor.plot.setXRange(0, 10, padding=0)
    w.editor.plot.setYRange(0, 4, padding=0)
    before = w.sketch
    i = 3
    hp, hf = before.handle_load_N[i], before.handle_friction_N[i]
    with qtbot.waitSignal(w.candidatesShown, timeout=30_000):
        mouse_drag(w.editor.view, [(hp, hf), (hp, hf + 0.4), (hp, hf + 0.8)])
    after = w.sketch
    assert after.handle_friction_N[i] == pytest.approx(hf + 0.8, abs=0.05)
    assert after.law_N[-1] == pytest.approx(before.law_N[-1], abs=0.1)  # far end barely moves
    w.undo.undo()
    assert np.array_equal(w.sketch.law_N, before.law_N)
    w.undo.redo()
    assert w.sketch.handle_friction_N[i] == pytest.approx(hf + 0.8, abs=0.05)


def test_points_mode_builds_target_through_clicked_points(qtbot, window):
    w = window
    w.editor.plot.setXRange(0, 10, padding=0)
    w.editor.plot.setYRange(0, 4, padding=0)
    w.points_action.trigger()
    for x, y in [(2.0, 0.5), (5.0, 1.2), (8.0, 1.6)]:
        mouse_click(w.editor.view, x, y)
    assert w.sketch is not None
    assert np.interp(5.0, LOAD_GRID_N, w.sketch.law_N) == pytest.approx(1.2, abs=0.08)
    assert not w.sketch.mask[LOAD_GRID_N < 1.9].any()          # below the first point: unmeasured


def test_changing_n_is_undoable_and_regenerates_candidates(qtbot, window):
    w = window
    set_target(qtbot, w)
    with qtbot.waitSignal(w.candidatesShown, timeout=30_000):
        w.n_spin.setValue(60)
    assert w.N == 60 and all(c.design.N == 60 for c in w.gallery.cards)
    with qtbot.waitSignal(w.candidatesShown, timeout=30_000):
        w.undo.undo()
    assert w.N == 64 and w.n_spin.value() == 64


def test_stale_candidates_are_discarded(qtbot, window):
    def slow_candidates(target, *, control=None, **kw):
        for _ in range(40):  # 0.4 s before proposing: a newer target arrives meanwhile
            time.sleep(0.01)
            control.checkpoint()
        return (yield from QUICK_ENGINES["candidates"](target, control=control, **kw))

    w = window
    w._engines = dict(QUICK_ENGINES, candidates=quick_spec("candidates", slow_candidates))
    shown = []
    w.candidatesShown.connect(shown.append)
    w.apply_preset("linear")
    qtbot.waitUntil(lambda: w.candidate_job is not None, timeout=5_000)
    stale = w.candidate_job
    w.apply_preset("bilinear")
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    qtbot.wait(300)
    assert shown == [w._candidate_generation] and w._candidate_generation == 2
    assert stale.state == "cancelled"
    assert w.sketch.source == "preset:bilinear"
    for card in w.gallery.cards:  # every card is scored against the current target
        assert card.design.error_percent == pytest.approx(w.target.error(card.design.friction_N))


def test_an_edit_after_a_quiet_spell_starts_candidates_at_once_and_a_burst_runs_twice(qtbot, window):
    w = window
    set_target(qtbot, w)
    qtbot.wait(300)  # a quiet spell
    before = w._candidate_generation
    w.apply_preset("linear")
    assert w._candidate_generation == before + 1  # started in the edit itself, no waiting
    for i in range(5):  # a burst of edits within the debounce interval
        w.set_sketch(preset_sketch("power law", mu=0.2 + 0.01 * i), f"burst {i}")
    assert w._candidate_generation == before + 1
    with qtbot.waitSignal(w.candidatesShown, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: not w._debounce.isActive() and w.candidate_job is None, timeout=10_000)
    assert w._candidate_generation == before + 2  # the burst made one more run, for its last edit
    assert w.sketch.source == preset_sketch("power law", mu=0.24).source
    assert all(card.design.error_percent == pytest.approx(w.target.error(card.design.friction_N))
               for card in w.gallery.cards)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are a Linux feature")
def test_favouring_the_gui_thread_lowers_every_other_thread_and_the_gil_interval():
    # In a subprocess: it changes process-wide state (the GIL interval, threads' priorities).
    import subprocess
    code = """
import os, sys, threading, time
from studio.gui.workers import BACKGROUND_NICE, GUI_SWITCH_INTERVAL_S, favour_gui_thread
ready, stop, tid = threading.Event(), threading.Event(), []
def helper():
    tid.append(threading.get_native_id()); ready.set(); stop.wait()
t = threading.Thread(target=helper); t.start(); ready.wait()
favour_gui_thread()
print(os.getpriority(os.PRIO_PROCESS, tid[0]), os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
      sys.getswitchinterval() == GUI_SWITCH_INTERVAL_S, BACKGROUND_NICE)
stop.set(); t.join()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert out.returncode == 0, out.stderr
    helper_nice, gui_nice, interval_set, background = out.stdout.split()
    assert int(helper_nice) >= max(int(background), int(gui_nice))  # the GUI thread's own is left alone
    if int(gui_nice) < int(background):  # unless the whole test run is niced that far already
        assert int(helper_nice) > int(gui_nice)
    assert interval_set == "True"


# --------------------------------------------------------------------------- CSV import
def test_good_csv_import_becomes_editable_target(qtbot, window, tmp_path):
    path = tmp_path / "measured.csv"
    path.write_text(EXAMPLE_CSV)
    with qtbot.waitSignal(window.candidatesShown, timeout=30_000):
        window.import_csv(path)
    s = window.sketch
    assert s.source == "csv:measured.csv"
    assert not s.mask[LOAD_GRID_N < 0.95].any() and not s.mask[LOAD_GRID_N > 8.05].any()
    assert np.interp(4.0, LOAD_GRID_N, s.law_N) == pytest.approx(0.25 * 4 ** 0.8, rel=0.02)
    assert window.editor.shade_low.getRegion()[1] > 0.9       # unmeasured range shaded
    assert str(path) in window.settings.value("files/recent")


def test_bad_csv_import_shows_banner_naming_the_line(qtbot, window, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("load (N),friction (N)\n1,0.2\n2,abc\n3,0.6\n")
    window.import_csv(path)
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    text = window.banner.label.text()
    assert "broken.csv" in text and "3" in text
    assert window.sketch is None                               # nothing half-imported


# --------------------------------------------------------------------------- refinement jobs
def test_refinement_runs_pauses_resumes_and_finishes_into_a_card(qtbot, window):
    w = window
    set_target(qtbot, w)
    start = w.gallery.cards[0].design
    job = w.refine(start, method="hybrid", budget_s=1.5)
    qtbot.waitUntil(lambda: job.last is not None, timeout=10_000)
    qtbot.waitUntil(lambda: job.card is not None, timeout=5_000)
    assert job.card.live
    w.jobs_table.toggle_pause(job)
    assert job.state == "paused"
    qtbot.wait(300)
    it = job.last.iteration
    qtbot.wait(300)
    assert job.last.iteration <= it + 1                       # at most the generation in flight
    w.jobs_table.toggle_pause(job)
    assert job.state == "running"
    with qtbot.waitSignal(w.jobEnded, timeout=20_000):
        pass
    assert job.state == "finished"
    results = [c for c in w.gallery.cards if c.is_result]
    assert len(results) == 1 and not results[0].live
    assert results[0].design.error_percent <= start.error_percent + 1e-9
    assert w.jobs_table.item(0, 4).text().endswith("%")


def test_refinement_can_be_cancelled_and_keeps_its_best(qtbot, window):
    w = window
    set_target(qtbot, w)
    job = w.refine(w.gallery.cards[0].design, method="cmaes", budget_s=30)
    qtbot.waitUntil(lambda: job.card is not None, timeout=10_000)
    w.jobs_table.selectRow(0)
    with qtbot.waitSignal(w.jobEnded, timeout=10_000):
        w.stop_action.trigger()                               # Esc: stop the selected job
    assert job.state == "cancelled"
    assert job.elapsed_s() < 10
    assert job.card is None
    assert any(c.is_result and not c.live for c in w.gallery.cards)


def test_two_jobs_run_at_once(qtbot, window):
    w = window
    set_target(qtbot, w)
    a = w.refine(w.gallery.cards[0].design, method="hybrid", budget_s=1.5)
    b = w.refine(w.gallery.cards[1].design, method="cmaes", budget_s=60)
    # Both report at once (their start designs); live cards follow on the next redraw (≤ 100 ms).
    qtbot.waitUntil(lambda: a.last is not None and b.last is not None and len(w.live_cards()) >= 1,
                    timeout=20_000)
    b_iterations = b.last.iteration
    assert b.job.is_thread_running()
    qtbot.waitUntil(lambda: a.state == "finished", timeout=20_000)
    assert b.state == "running" and b.last.iteration > b_iterations  # b kept going while a ran
    b.job.cancel()
    qtbot.waitUntil(lambda: not w.active_jobs(), timeout=10_000)
    assert b.state == "cancelled"
    assert w.jobs_table.rowCount() == 2
    assert w.jobs_table.cellWidget(0, 2).value() == 1000


def test_closing_the_window_stops_running_jobs(qtbot, tmp_path, slot_exceptions):
    w = MainWindow(engines=QUICK_ENGINES, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                   load_model_info=False, details_fn=quick_details)
    w.mark_clean_exit_on_close = False
    qtbot.addWidget(w)
    w.show()
    w.k_spin.setValue(2)
    set_target(qtbot, w)
    jobs = [w.refine(w.gallery.cards[0].design, method="cmaes", budget_s=60) for _ in range(2)]
    qtbot.waitUntil(lambda: all(j.last is not None for j in jobs), timeout=10_000)
    jobs[1].job.pause()
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 5
    assert all(not j.job.is_thread_running() for j in jobs)
    assert all(j.job.control.cancelled for j in jobs)


def test_refinement_jobs_run_in_worker_processes_that_closing_ends(qtbot, window):
    """The real engines' jobs run in worker processes (studio.design.processes): progress, pause,
    resume and results reach the window as from a thread, and closing ends every worker."""
    from studio.design.processes import EngineProcessPool

    w = window
    w.N = 16
    w.n_spin.setValue(16)
    set_target(qtbot, w)
    w.engine_pool = EngineProcessPool(spare=1)
    jobs = [w.refine(w.gallery.cards[0].design, method="cmaes", budget_s=60) for _ in range(2)]
    # The start report comes at once from this process; wait for the workers' own search progress.
    qtbot.waitUntil(lambda: all(j.last is not None and j.last.evaluations > 0 for j in jobs), timeout=60_000)
    processes = [wk.process for wk in w.engine_pool._busy]
    assert len(processes) == 2 and all(p.is_alive() for p in processes)
    assert all(p.pid != os.getpid() for p in processes)
    jobs[0].job.pause()
    qtbot.wait(400)
    paused_at = jobs[0].last.evaluations
    qtbot.wait(600)
    assert jobs[0].last.evaluations <= paused_at + 16 * 2  # at most the generations already on their way
    jobs[0].job.resume()
    qtbot.waitUntil(lambda: jobs[0].last.evaluations > paused_at + 16 * 2, timeout=20_000)
    assert jobs[0].best is not None and np.isfinite(jobs[0].best.error_percent)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 5
    assert all(not j.job.is_thread_running() for j in jobs)
    assert not any(p.is_alive() for p in processes)


# --------------------------------------------------------------------------- files and session
def test_export_then_reopen_gives_the_same_designs(qtbot, window, tmp_path):
    w = window
    set_target(qtbot, w)
    designs = w.gallery.designs()
    path = tmp_path / "designs.h5"
    w.export_designs(path, designs)
    qtbot.waitUntil(lambda: getattr(w, "exported", None) == str(path), timeout=30_000)
    w.gallery.clear()
    w.open_design_file(path)
    qtbot.waitUntil(lambda: getattr(w, "opened", None) is not None, timeout=30_000)
    # The file's designs come back as results; opening also sets its target, which brings candidates.
    reopened = {c.design.name: c.design for c in w.gallery.cards if c.is_result}
    assert set(reopened) == {d.name for d in designs}
    for d in designs:
        r = reopened[d.name]
        assert (r.N, r.seed) == (d.N, d.seed)
        np.testing.assert_allclose(r.theta, d.theta, rtol=0, atol=0)
        np.testing.assert_allclose(r.friction_N, d.friction_N, rtol=1e-12)
    np.testing.assert_allclose(w.sketch.law_N, preset_sketch("power law").law_N, rtol=1e-12)


def test_curve_csv_and_plot_exports(qtbot, window, tmp_path):
    from studio.io import read_target_csv
    w = window
    set_target(qtbot, w)
    w.export_curves_csv(tmp_path / "curve.csv")
    qtbot.waitUntil(lambda: (tmp_path / "curve.csv").is_file(), timeout=10_000)
    qtbot.wait(100)
    back = read_target_csv(tmp_path / "curve.csv")
    np.testing.assert_allclose(back.friction_N, w.selected_design().friction_N, rtol=1e-8)
    for name in ("law.png", "law.svg"):
        w.export_plot(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000


def test_autosave_then_restore_session(qtbot, window, tmp_path):
    w = window
    set_target(qtbot, w, "bilinear")
    w.gallery.cards[1].pin.setChecked(True)
    names = [d.name for d in w.gallery.designs()]
    with qtbot.waitSignal(w.autosaved, timeout=10_000):
        w.autosave()
    assert w.last_autosave_s is not None and w.last_autosave_s < 0.5
    w.gallery.clear()
    w.undo.push(type(w.undo.command(0))(w, w._state(), (None, 64), "clear"))
    w.restore_session(tmp_path / "session.json")
    qtbot.waitUntil(lambda: len(w.gallery.cards) == len(names), timeout=20_000)
    assert sorted(c.design.name for c in w.gallery.cards) == sorted(names)
    assert sum(c.pin.isChecked() for c in w.gallery.cards) == 1
    np.testing.assert_allclose(w.sketch.law_N, preset_sketch("bilinear").law_N, rtol=1e-12)


# --------------------------------------------------------------------------- inspector, messages, CLI
@pytest.mark.parametrize("details_fn", [compute_details])  # the real band + layout (JAX)
def test_selecting_a_card_shows_band_layout_and_pins(qtbot, window):
    w = window
    set_target(qtbot, w)
    card = w.gallery.cards[1]
    with qtbot.waitSignal(w.detailsShown, timeout=60_000):
        card.clicked.emit(card)
    assert w.inspector.design is card.design
    lo, hi = w.inspector.band_lo.getData()[1], w.inspector.band_hi.getData()[1]
    assert lo.shape == (128,) and np.all(hi >= lo)
    x, y = w.inspector.centres.getData()
    assert len(x) == card.design.N
    card.pin.setChecked(True)
    assert w.inspector.pin_curves[0].getData()[1] is not None
    w.inspector.load_slider.setValue(10)
    assert "0.86 N" in w.inspector.load_label.text()


def test_a_failing_engine_reports_in_the_banner_not_a_dialog(qtbot, window):
    def broken(target, **kw):
        raise RuntimeError("engine exploded")
        yield  # pragma: no cover

    window._engines = dict(QUICK_ENGINES, candidates=quick_spec("candidates", broken))
    window.apply_preset("linear")
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    assert "engine exploded" in window.banner.label.text()


def test_slot_exception_fixture_catches_errors(qtbot, slot_exceptions):
    from PySide6.QtCore import QTimer

    def bad():
        raise ValueError("boom in a slot")

    QTimer.singleShot(0, bad)
    qtbot.waitUntil(lambda: bool(slot_exceptions), timeout=2_000)
    assert slot_exceptions[0][0] is ValueError
    slot_exceptions.clear()


def test_gui_subcommand_is_registered():
    from studio.cli import build_parser
    args = build_parser().parse_args(["gui", "--demo", "--screenshot", "x.png", "--target", "t.csv"])
    assert args.demo and args.screenshot == "x.png" and args.target == "t.csv" and callable(args.run)


def test_help_and_about_are_non_modal_and_name_versions(qtbot, window):
    import PySide6
    help_dialog = window.show_help()
    about = window.show_about()
    assert not help_dialog.isModal() and not about.isModal() and help_dialog.isVisible()
    text = about.findChild(type(about.layout().itemAt(0).widget())).toPlainText()
    assert PySide6.__version__ in text and "Model:" in text
    help_dialog.close()
    about.close()
