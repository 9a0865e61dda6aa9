"""GUI workflows, offscreen (pytest-qt): drawing, import, candidates, refinement jobs, files, closing.

The window is driven as a user would (mouse gestures, buttons, actions) and checked through
its state (studio.state) and its widgets. Every test fails if an exception escapes into a Qt
slot (the `slot_exceptions` fixture), and every window is closed with its jobs' threads joined.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget

from studio.design.details import DesignDetails, compute_details
from studio.design.targets import preset_sketch
from studio.gui.main_window import MainWindow
from studio.physics import LOAD_GRID_N
from studio.state import LIVE, RESULT
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
    assert all(not w.runner.is_running(j) for j in w.state.jobs.items)


def open_window(qtbot, tmp_path, K: int) -> MainWindow:
    """A window of its own (closed by the test), with the stand-in engines and K candidates."""
    w = MainWindow(engines=QUICK_ENGINES, settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                   load_model_info=False, details_fn=quick_details)
    w.mark_clean_exit_on_close = False
    qtbot.addWidget(w)
    w.show()
    w.k_spin.setValue(K)
    return w


def set_target(qtbot, w, name="power law"):
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.design.apply_preset(name)


def entries(w, kind=None):
    return [e for e in w.state.board.entries if kind is None or e.kind == kind]


def live_entry(w, job):
    return next((e for e in w.state.board.entries if e.job is job), None)


# --------------------------------------------------------------------------- target editing
def test_drawn_stroke_becomes_monotone_target_and_candidates(qtbot, window):
    w = window
    editor = w.design.editor
    editor.plot.setXRange(0, 10, padding=0)
    editor.plot.setYRange(0, 4, padding=0)
    p = np.linspace(1.0, 9.0, 40)
    f = 0.3 * p + 0.15 * np.sin(3 * p)  # wiggly: not monotone as drawn
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        mouse_drag(editor.view, list(zip(p, f)))
    s = w.state.target.sketch
    assert s is not None and s.source == "sketch"
    assert np.all(np.diff(s.law_N) >= 0)                        # made non-decreasing
    covered = LOAD_GRID_N[s.mask]
    assert covered[0] == pytest.approx(1.0, abs=0.15) and covered[-1] == pytest.approx(9.0, abs=0.15)
    assert 6 <= len(s.handle_idx) <= 8
    assert np.interp(5.0, LOAD_GRID_N, s.law_N) == pytest.approx(1.5, abs=0.25)
    assert len(w.gallery.cards) == 4 and [c.entry for c in w.gallery.cards] == w.state.board.entries
    errors = [c.design.error_percent for c in w.gallery.cards]
    assert errors == sorted(errors)                             # best first
    assert w.state.target.can_undo and w.undo_action.isEnabled()
    assert editor.shown is s                                    # the editor shows the state's sketch


def test_dragging_a_handle_reshapes_the_law_and_undo_restores_it(qtbot, window):
    w = window
    set_target(qtbot, w, "linear")
    editor, target = w.design.editor, w.state.target
    editor.plot.setXRange(0, 10, padding=0)
    editor.plot.setYRange(0, 4, padding=0)
    before = target.sketch
    i = 3
    hp, hf = before.handle_load_N[i], before.handle_friction_N[i]
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        mouse_drag(editor.view, [(hp, hf), (hp, hf + 0.4), (hp, hf + 0.8)])
    after = target.sketch
    assert after.handle_friction_N[i] == pytest.approx(hf + 0.8, abs=0.05)
    assert after.law_N[-1] == pytest.approx(before.law_N[-1], abs=0.1)  # far end barely moves
    w.undo_action.trigger()
    assert target.sketch is before and np.array_equal(editor.curve.getData()[1], before.law_N)
    w.redo_action.trigger()
    assert target.sketch is after and target.sketch.handle_friction_N[i] == pytest.approx(hf + 0.8, abs=0.05)


def test_points_mode_builds_target_through_clicked_points(qtbot, window):
    w = window
    editor = w.design.editor
    editor.plot.setXRange(0, 10, padding=0)
    editor.plot.setYRange(0, 4, padding=0)
    w.design.points_action.trigger()
    for x, y in [(2.0, 0.5), (5.0, 1.2), (8.0, 1.6)]:
        mouse_click(editor.view, x, y)
    s = w.state.target.sketch
    assert s is not None and len(s.handle_idx) == 3
    assert np.interp(5.0, LOAD_GRID_N, s.law_N) == pytest.approx(1.2, abs=0.08)
    assert not s.mask[LOAD_GRID_N < 1.9].any()                 # below the first point: unmeasured
    assert w.state.target.undo_text == "Add point"


def test_changing_n_is_undoable_and_regenerates_candidates(qtbot, window):
    w = window
    set_target(qtbot, w)
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.n_spin.setValue(60)
    assert w.state.target.N == 60 and all(c.design.N == 60 for c in w.gallery.cards)
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.undo_action.trigger()
    assert w.state.target.N == 64 and w.n_spin.value() == 64


def test_stale_candidates_are_discarded(qtbot, window):
    def slow_candidates(target, *, control=None, **kw):
        for _ in range(40):  # 0.4 s before proposing: a newer target arrives meanwhile
            time.sleep(0.01)
            control.checkpoint()
        return (yield from QUICK_ENGINES["candidates"](target, control=control, **kw))

    w = window
    w.engines.table = dict(QUICK_ENGINES, candidates=quick_spec("candidates", slow_candidates))
    shown = []
    w.candidates.shown.connect(shown.append)
    w.design.apply_preset("linear")
    qtbot.waitUntil(lambda: w.candidates.job is not None, timeout=5_000)
    stale = w.candidates.job
    w.design.apply_preset("bilinear")
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    qtbot.wait(300)
    assert shown == [w.candidates.generation] and w.candidates.generation == 2
    assert stale.state == "cancelled"
    assert w.state.target.sketch.source == "preset:bilinear"
    for card in w.gallery.cards:  # every card is scored against the current target
        assert card.design.error_percent == pytest.approx(w.state.target.target.error(card.design.friction_N))


def test_an_edit_after_a_quiet_spell_starts_candidates_at_once_and_a_burst_runs_twice(qtbot, window):
    w, c = window, window.candidates
    set_target(qtbot, w)
    qtbot.wait(300)  # a quiet spell
    before = c.generation
    w.design.apply_preset("linear")
    assert c.generation == before + 1  # started in the edit itself, no waiting
    for i in range(5):  # a burst of edits within the debounce interval
        w.state.target.edit(preset_sketch("power law", mu=0.2 + 0.01 * i), f"burst {i}")
    assert c.generation == before + 1
    with qtbot.waitSignal(c.shown, timeout=30_000):
        pass
    qtbot.waitUntil(lambda: not c.debounce.isActive() and c.job is None, timeout=10_000)
    assert c.generation == before + 2  # the burst made one more run, for its last edit
    np.testing.assert_array_equal(w.state.target.sketch.law_N, preset_sketch("power law", mu=0.2 + 0.01 * 4).law_N)
    assert all(card.design.error_percent == pytest.approx(w.state.target.target.error(card.design.friction_N))
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
    with qtbot.waitSignal(window.candidates.shown, timeout=30_000):
        window.files.import_csv(path)
    s = window.state.target.sketch
    assert s.source == "csv:measured.csv" and not s.monotone   # a measured curve is kept as measured
    assert not window.design.monotone_action.isChecked()
    grid = s.load_grid_N
    assert s.max_load_N == 8.0 and window.design.max_load_spin.value() == 8.0  # the CSV's largest load
    assert not s.mask[grid < 0.95].any() and s.mask[grid >= 1.0].all()
    assert np.interp(4.0, grid, s.law_N) == pytest.approx(0.25 * 4 ** 0.8, rel=0.02)
    assert window.design.editor.shade_low.getRegion()[1] > 0.9  # unmeasured range shaded
    assert str(path) in window.settings.value("files/recent")


def test_bad_csv_import_shows_banner_naming_the_line(qtbot, window, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("load (N),friction (N)\n1,0.2\n2,abc\n3,0.6\n")
    window.files.import_csv(path)
    qtbot.waitUntil(window.banner.isVisible, timeout=10_000)
    assert window.banner.label.text() == "broken.csv, line 3, column 2: 'abc' is not a number"
    assert window.state.target.sketch is None and not window.state.target.can_undo  # nothing half-imported


def test_the_studio_and_the_command_line_build_the_same_target_from_a_csv(qtbot, window, tmp_path):
    """Issue 14: for a curve measured over 1–6 N the studio once extrapolated its own way (0.0194 N at
    0.078 N where `friction-studio design` had 0.0699 N). Both now build the target by one rule."""
    from studio import cli
    from studio.io import read_design_file

    p = np.linspace(1.0, 6.0, 20)
    path = tmp_path / "measured.csv"
    path.write_text("load (N),friction (N)\n" + "\n".join(f"{a:.4f},{0.07 * a + 0.01 * a * a:.6f}" for a in p))
    window.n_spin.setValue(32)
    with qtbot.waitSignal(window.candidates.shown, timeout=30_000):
        window.files.import_csv(path)
    studio_target = window.state.target.target
    out = tmp_path / "cli.h5"
    assert cli.main(["design", str(path), "--asperities", "32", "--out", str(out), "--method", "cmaes",
                     "--time-budget", "0.3"]) == 0
    cli_target = read_design_file(out).target
    np.testing.assert_array_equal(studio_target.mask, cli_target.mask)
    np.testing.assert_array_equal(studio_target.friction_N, cli_target.friction_N)  # bit for bit, outside too
    assert (studio_target.source, studio_target.note) == (cli_target.source, cli_target.note)
    grid = studio_target.load_N
    np.testing.assert_array_equal(grid, cli_target.load_N)  # the same load range: 0–6 N, the largest load
    assert grid[-1] == 6.0 and not studio_target.mask[0] and studio_target.mask[grid == 3.0].all()
    # Below 1 N both continue the measured curve as a power law through its first point.
    slope = np.polyfit(np.log(p[:5]), np.log(0.07 * p[:5] + 0.01 * p[:5] ** 2), 1)[0]
    assert studio_target.friction_N[0] == pytest.approx(0.08 * (grid[0] / 1.0) ** slope, rel=1e-3)


def test_changing_the_load_range_rescales_the_axes_and_keeps_the_targets_shape(qtbot, window):
    w = window
    editor, inspector = w.design.editor, w.design.inspector
    set_target(qtbot, w, "power law")
    before = w.state.target.sketch
    design_before = w.state.board.entries[0].design
    error_before = design_before.error_percent
    assert editor.plot.viewRange()[0][1] == pytest.approx(10.0, rel=0.05)
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.design.max_load_spin.setValue(0.2)           # the load-range field, as typed
    s = w.state.target.sketch
    assert s.max_load_N == pytest.approx(0.2) and w.state.target.undo_text == "Load range 0–0.2 N"
    np.testing.assert_allclose(s.load_grid_N, 0.02 * before.load_grid_N, rtol=1e-14)
    np.testing.assert_allclose(s.law_N, 0.02 * before.law_N, rtol=1e-14)     # the same shape
    np.testing.assert_array_equal(s.mask, before.mask)
    np.testing.assert_allclose(s.handle_load_N, 0.02 * before.handle_load_N, rtol=1e-14)
    x_range, y_range = editor.plot.viewRange()
    assert x_range[0] <= 0 and x_range[1] == pytest.approx(0.2, rel=0.05)    # the axes follow
    assert y_range[1] == pytest.approx(float(s.law_N.max()), rel=0.1)
    x, y = editor.curve.getData()
    np.testing.assert_allclose(x, s.load_grid_N) and np.testing.assert_allclose(y, s.law_N)
    # the designs follow too, scaled exactly: the same errors
    assert all(e.design.max_load_N == pytest.approx(0.2) for e in w.state.board.entries if not e.live)
    law_x = inspector.target_curve.getData()[0]
    assert law_x[-1] == pytest.approx(0.2)
    # presets and drawing are on the new range
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.design.apply_preset("linear")
    assert w.state.target.sketch.max_load_N == pytest.approx(0.2)
    w.state.target.undo()
    w.state.target.undo()
    assert w.state.target.max_load_N == 10.0 and w.design.max_load_spin.value() == 10.0
    np.testing.assert_array_equal(w.state.target.sketch.law_N, before.law_N)
    assert editor.plot.viewRange()[0][1] == pytest.approx(10.0, rel=0.05)
    same = next(e for e in w.state.board.entries if e.design.seed == design_before.seed
                and np.array_equal(e.design.theta, design_before.theta))
    assert same.design.error_percent == pytest.approx(error_before, abs=1e-9)


class _ProbeWorkspace(QWidget):
    """A workspace as docs/architecture.md shows one: a widget bound to the state, one registration line."""

    title = "Probe"

    def __init__(self, studio):
        super().__init__()
        self.label = QLabel("Select a design.")
        QVBoxLayout(self).addWidget(self.label)
        studio.state.board.selection_changed.connect(
            lambda e: self.label.setText("Select a design." if e is None else e.design.name))


def test_a_workspace_plugs_in_with_one_registration_line_and_shares_the_state(qtbot, tmp_path, monkeypatch,
                                                                               slot_exceptions):
    from studio.gui import workspaces

    monkeypatch.setattr(workspaces, "WORKSPACES", [*workspaces.WORKSPACES, "test_gui._ProbeWorkspace"])
    w = open_window(qtbot, tmp_path, K=3)
    tabs = [w.tabs.tabText(i) for i in range(w.tabs.count())]
    assert tabs[0] == "Design" and tabs[-1] == "Probe" and len(tabs) == len(workspaces.WORKSPACES)
    set_target(qtbot, w)
    probe = w.workspaces[-1]
    w.tabs.setCurrentWidget(probe)
    qtbot.mouseClick(w.gallery.cards[2], Qt.LeftButton)       # the candidates column stays in view
    selected = w.state.board.selected
    assert probe.label.text() == selected.design.name and probe.isVisible() and not w.design.isVisible()
    assert w.gallery.isVisible() and w.jobs_table.isVisible()
    w.tabs.setCurrentWidget(w.design)                          # switching keeps the selection and the target
    assert w.state.board.selected is selected and w.design.inspector.design is selected.design
    w.close()


# --------------------------------------------------------------------------- refinement jobs
def row_button(w, row: int, text: str):
    return next(b for b in w.jobs_table.cellWidget(row, 7).findChildren(QToolButton) if b.text() == text)


def test_refinement_runs_pauses_resumes_and_finishes_into_a_card(qtbot, window):
    w = window
    set_target(qtbot, w)
    start = w.gallery.cards[0].design
    qtbot.mouseClick(w.gallery.cards[0].refine, Qt.LeftButton)   # ▶ on the card
    job = w.state.jobs.items[0]
    assert job.start_design is start and job.kind == w.method_combo.currentText()
    qtbot.waitUntil(lambda: job.progress is not None, timeout=10_000)
    qtbot.waitUntil(lambda: live_entry(w, job) is not None, timeout=5_000)
    assert live_entry(w, job).live and w.gallery.card_of(live_entry(w, job)) is w.gallery.cards[0]  # on top
    qtbot.mouseClick(row_button(w, 0, "‖"), Qt.LeftButton)
    assert job.state == "paused" and job.control.paused
    qtbot.wait(300)
    it = job.progress.iteration
    qtbot.wait(300)
    assert job.progress.iteration <= it + 1                   # at most the generation in flight
    qtbot.mouseClick(row_button(w, 0, "▶"), Qt.LeftButton)
    assert job.state == "running"
    qtbot.waitUntil(lambda: job.state == "finished", timeout=20_000)
    results = entries(w, RESULT)
    assert len(results) == 1 and live_entry(w, job) is None
    assert results[0].design is job.result[0] and w.state.board.selected is results[0]
    assert results[0].design.error_percent <= start.error_percent + 1e-9
    assert w.jobs_table.item(0, 4).text().endswith("%")


def test_refinement_can_be_cancelled_and_keeps_its_best(qtbot, window):
    w = window
    set_target(qtbot, w)
    job = w.refine(w.gallery.cards[0].design, method="cmaes", budget_s=30)
    qtbot.waitUntil(lambda: live_entry(w, job) is not None, timeout=10_000)
    w.jobs_table.selectRow(0)
    w.stop_action.trigger()                                   # Esc: stop the selected job
    qtbot.waitUntil(lambda: job.state == "cancelled", timeout=10_000)
    assert job.elapsed_s() < 10
    kept = [e for e in entries(w, RESULT) if e.design is job.best]
    assert len(kept) == 1 and not kept[0].live and kept[0].job is None  # the best so far, as a normal card


def test_two_jobs_run_at_once(qtbot, window):
    w = window
    set_target(qtbot, w)
    a = w.refine(w.gallery.cards[0].design, method="hybrid", budget_s=1.5)
    b = w.refine(w.gallery.cards[1].design, method="cmaes", budget_s=60)
    # Live cards follow a job's progress on the next redraw (≤ 100 ms), so wait for them too.
    qtbot.waitUntil(lambda: a.progress is not None and b.progress is not None and len(entries(w, LIVE)) >= 1,
                    timeout=20_000)
    b_iterations = b.progress.iteration
    assert w.runner.is_running(b)
    qtbot.waitUntil(lambda: a.state == "finished", timeout=20_000)
    assert b.state == "running" and b.progress.iteration > b_iterations  # b kept going while a ran
    w.state.jobs.cancel(b)
    qtbot.waitUntil(lambda: not w.state.jobs.active(), timeout=10_000)
    assert b.state == "cancelled"
    assert w.jobs_table.rowCount() == 2
    assert w.jobs_table.cellWidget(0, 2).value() == 1000


def test_a_job_of_another_kind_shares_the_jobs_table(qtbot, window):
    """Any background job (a BEM validation, a fit, a training) is a row like a refinement: progress,
    pause and stop work the same, and a job without designs puts nothing on the board."""
    from types import SimpleNamespace

    from studio.state import Job

    def count_to(n, control):
        for i in range(n):
            control.checkpoint()
            time.sleep(0.01)
            yield SimpleNamespace(fraction=(i + 1) / n, iteration=i + 1, message=f"step {i + 1}")
        return {"steps": n}

    w = window
    job = w.studio.jobs.start(Job("Validate design-1", "BEM"), lambda control: count_to(60, control))
    assert w.jobs_table.item(0, 0).text() == "Validate design-1" and w.jobs_table.item(0, 1).text() == "BEM"
    qtbot.waitUntil(lambda: job.progress is not None and w.jobs_table.item(0, 3).text() != "", timeout=5_000)
    qtbot.waitUntil(lambda: job.state == "finished", timeout=10_000)
    assert job.result == {"steps": 60} and w.jobs_table.cellWidget(0, 2).value() == 1000
    assert w.state.board.entries == []


def test_closing_the_window_stops_running_jobs(qtbot, tmp_path, slot_exceptions):
    w = open_window(qtbot, tmp_path, K=2)
    set_target(qtbot, w)
    jobs = [w.refine(w.gallery.cards[0].design, method="cmaes", budget_s=60) for _ in range(2)]
    qtbot.waitUntil(lambda: all(j.progress is not None for j in jobs), timeout=10_000)
    w.state.jobs.pause(jobs[1])
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 5
    assert all(not w.runner.is_running(j) for j in jobs)
    assert all(j.control.cancelled for j in jobs)


def test_refinement_jobs_run_in_worker_processes_that_closing_ends(qtbot, window):
    """The real engines' jobs run in worker processes (studio.design.processes): progress, pause,
    resume and results reach the window as from a thread, and closing ends every worker."""
    from studio.design.processes import EngineProcessPool

    w = window
    w.n_spin.setValue(16)
    set_target(qtbot, w)
    w.engines.pool = EngineProcessPool(spare=1)
    jobs = [w.refine(w.gallery.cards[0].design, method="cmaes", budget_s=60) for _ in range(2)]
    # The start report comes at once from this process; wait for the workers' own search progress.
    qtbot.waitUntil(lambda: all(j.progress is not None and j.progress.evaluations > 0 for j in jobs),
                    timeout=60_000)
    processes = [wk.process for wk in w.engines.pool._busy]
    assert len(processes) == 2 and all(p.is_alive() for p in processes)
    assert all(p.pid != os.getpid() for p in processes)
    w.state.jobs.pause(jobs[0])
    qtbot.wait(400)
    paused_at = jobs[0].progress.evaluations
    qtbot.wait(600)
    assert jobs[0].progress.evaluations <= paused_at + 16 * 2  # at most the generations already on their way
    w.state.jobs.resume(jobs[0])
    qtbot.waitUntil(lambda: jobs[0].progress.evaluations > paused_at + 16 * 2, timeout=20_000)
    assert jobs[0].best is not None and np.isfinite(jobs[0].best.error_percent)
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 5
    assert all(not w.runner.is_running(j) for j in jobs)
    assert not any(p.is_alive() for p in processes)


# --------------------------------------------------------------------------- files and session
@pytest.mark.parametrize("details_fn", [compute_details])  # the real layout, so the file's can be told apart
def test_export_then_reopen_gives_the_same_designs_and_shows_the_files_layout(qtbot, window, tmp_path):
    import h5py

    w = window
    set_target(qtbot, w)
    designs = w.state.board.designs()
    path = tmp_path / "designs.h5"
    with qtbot.waitSignal(w.files.saved, timeout=30_000) as saved:
        w.files.export_designs(path, designs)
    assert saved.args == [str(path)] and w.windowTitle().endswith("designs.h5")
    with h5py.File(path, "a") as f:  # a layout made elsewhere: the studio must show this one, not its own
        best = f.attrs["best"]
        f[f"designs/{best}/asperities/x_mm"][...] += 100.0
    w.state.board.clear()
    with qtbot.waitSignal(w.files.opened, timeout=30_000):
        w.files.open_design_file(path)
    first = entries(w, RESULT)[0]
    shown = next(e for e in entries(w, RESULT) if e.design.name == best)
    w.state.board.select(shown)
    qtbot.waitUntil(lambda: shown.details is not None and w.design.inspector.details is shown.details,
                    timeout=120_000)  # band and layout in a worker (the first real one compiles)
    # The file's designs come back as results; opening also sets its target, which brings candidates.
    reopened = {e.design.name: e.design for e in entries(w, RESULT)}
    assert set(reopened) == {d.name for d in designs} and first.design.name in reopened
    for d in designs:
        r = reopened[d.name]
        assert (r.N, r.seed) == (d.N, d.seed)
        np.testing.assert_allclose(r.theta, d.theta, rtol=0, atol=0)
        np.testing.assert_allclose(r.friction_N, d.friction_N, rtol=1e-12)
    np.testing.assert_allclose(w.state.target.sketch.law_N, preset_sketch("power law").law_N, rtol=1e-12)
    x_shown = w.design.inspector.centres.getData()[0]
    np.testing.assert_allclose(x_shown, reopened[best].layout.x_mm, rtol=0, atol=0)
    assert x_shown.min() > 50.0                                # the file's (shifted) layout, not a recomputed one


def test_export_for_fabrication_writes_the_selected_design_as_stl_and_height_map(qtbot, window, tmp_path):
    from studio.io.export import Geometry, read_stl_triangles, stl_triangles
    from studio.physics import layout_for
    from studio.physics.theta import E_STAR_IDX

    w = window
    set_target(qtbot, w)
    assert w.fabrication_action in w.menuBar().actions()[0].menu().actions()  # File ▸ Export for fabrication
    d = w.state.board.selected.design
    for name in ("design.stl", "design.npy"):
        with qtbot.waitSignal(w.files.saved, timeout=30_000):
            w.files.export_fabrication(tmp_path / name)
    layout = layout_for(d.asperities, d.theta[E_STAR_IDX])  # what a design file of it would hold
    tris = read_stl_triangles(tmp_path / "design.stl")
    expected = stl_triangles(Geometry.from_layout(d.asperities.height_mm, d.asperities.radius_mm, layout))
    np.testing.assert_allclose(tris, expected, atol=1e-5 * np.abs(expected).max())  # float32 in the file
    z = np.load(tmp_path / "design.npy")
    assert z.max() == pytest.approx(d.asperities.height_mm.max(), abs=2e-3)   # the highest summit
    assert z.min() == pytest.approx(layout.base_level_mm)                    # the layout's plate


def test_curve_csv_and_plot_exports(qtbot, window, tmp_path):
    from studio.io import read_target_csv
    w = window
    set_target(qtbot, w)
    with qtbot.waitSignal(w.files.saved, timeout=10_000):
        w.files.export_curves_csv(tmp_path / "curve.csv")
    back = read_target_csv(tmp_path / "curve.csv")
    np.testing.assert_allclose(back.friction_N, w.state.board.selected.design.friction_N, rtol=1e-8)
    inspector = w.design.inspector
    for name in ("law.png", "law.svg"):
        w.files.export_plot(tmp_path / name, inspector.law_view, inspector.law_plot)
        assert (tmp_path / name).stat().st_size > 1000
    assert str(tmp_path / "curve.csv") not in (w.settings.value("files/recent") or [])  # only files it can open


def test_autosave_then_restore_session(qtbot, window, tmp_path):
    w = window
    set_target(qtbot, w, "bilinear")
    edited = w.state.target.sketch.with_handle(2, w.state.target.sketch.handle_friction_N[2] + 0.3)
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.state.target.edit(edited, "drag")
    qtbot.mouseClick(w.gallery.cards[1].pin, Qt.LeftButton)   # ☆ on the second card
    pinned = w.state.board.pinned()
    assert [c.pin.isChecked() for c in w.gallery.cards] == [False, True, False, False] and len(pinned) == 1
    w.k_spin.setValue(3)
    names = [d.name for d in w.state.board.designs()]
    with qtbot.waitSignal(w.files.autosaved, timeout=10_000):
        w.files.autosave()
    assert w.files.last_autosave_s is not None and w.files.last_autosave_s < 0.5
    w.state.board.clear()
    w.state.target.edit(None, "clear")
    w.k_spin.setValue(5)
    w.files.restore_session(tmp_path / "session.json")
    qtbot.waitUntil(lambda: len(w.state.board.designs()) >= len(names), timeout=20_000)
    restored = [d for d in w.state.board.designs() if d.name in names]
    assert sorted(d.name for d in restored) == sorted(names)
    assert [d.name for d in w.state.board.pinned()] == [pinned[0].name]
    assert sum(c.pin.isChecked() for c in w.gallery.cards) == 1
    s = w.state.target.sketch
    np.testing.assert_allclose(s.law_N, edited.law_N, rtol=1e-12)
    np.testing.assert_array_equal(s.handle_load_N, edited.handle_load_N)        # the handles come back
    np.testing.assert_allclose(s.handle_friction_N, edited.handle_friction_N, rtol=1e-12)
    assert w.k_spin.value() == 3 and w.state.settings.K == 3


# --------------------------------------------------------------------------- inspector, messages, CLI
@pytest.mark.parametrize("details_fn", [compute_details])  # the real band + layout (JAX)
def test_selecting_a_card_shows_band_layout_and_pins(qtbot, window):
    w = window
    set_target(qtbot, w)
    card = w.gallery.cards[1]
    with qtbot.waitSignal(w.details.shown, timeout=60_000):
        qtbot.mouseClick(card, Qt.LeftButton)
    inspector = w.design.inspector
    assert w.state.board.selected is card.entry and inspector.design is card.design
    assert card.property("state") == "selected" and w.gallery.cards[0].property("state") == "normal"
    lo, hi = inspector.band_lo.getData()[1], inspector.band_hi.getData()[1]
    assert lo.shape == (128,) and np.all(hi >= lo)
    x, y = inspector.centres.getData()
    assert len(x) == card.design.N
    qtbot.mouseClick(card.pin, Qt.LeftButton)
    assert card.entry.pinned and card.pin.text() == "★"
    np.testing.assert_array_equal(inspector.pin_curves[0].getData()[1], card.design.friction_N)
    inspector.load_slider.setValue(10)
    assert "0.86 N" in inspector.load_label.text()


def test_a_failing_engine_reports_in_the_banner_not_a_dialog(qtbot, window):
    def broken(target, **kw):
        raise RuntimeError("engine exploded")
        yield  # pragma: no cover

    window.engines.table = dict(QUICK_ENGINES, candidates=quick_spec("candidates", broken))
    window.design.apply_preset("linear")
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


def test_log_lines_from_worker_threads_reach_the_log_on_the_gui_thread(qtbot):
    """A widget may only be touched from the GUI thread: a record logged in a worker is queued to it."""
    import logging
    import threading

    from studio.gui.messages import LogView

    logger = logging.getLogger("studio.test-log-thread")
    view = LogView(logger)
    qtbot.addWidget(view)
    seen = []
    original = view.appendPlainText
    view.appendPlainText = lambda text: (seen.append(threading.current_thread()), original(text))
    worker = threading.Thread(target=lambda: logger.error("from a worker"))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: "from a worker" in view.toPlainText(), timeout=5_000)
    assert seen == [threading.main_thread()]
    view.detach()
