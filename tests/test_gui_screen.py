"""Issue 22, "a screen that explains itself" (pytest-qt, offscreen): the selection after new candidates,
the import banner's owner, the non-decreasing toggle, sMAPE explained, what the cards show, the
inspector's layout range and μ view, the bilinear preset's fields, and long status-bar messages.

Each test drives the window as a user would and checks its state and widgets.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt

from studio.design.details import CardFacts, card_facts, compute_details, design_layout
from studio.gui.gallery import d_over_r_text
from studio.gui.help import HELP_HTML, SMAPE_TIP
from studio.gui.main_window import MainWindow
from studio.physics.theta import E_STAR_IDX
from studio.state.environment import model_detail, model_summary
from test_gui import quick_details, set_target, slot_exceptions  # noqa: F401  (fixture)
from test_gui_helpers import QUICK_ENGINES

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[1]


def quick_facts(design) -> CardFacts:
    """Card facts stand-in (the real card_facts runs in test_cards_show_...)."""
    return CardFacts(float(design.theta[E_STAR_IDX]), 0.1, True, (0.5 * design.N, 2.0))


@pytest.fixture
def make_window(qtbot, tmp_path, slot_exceptions):  # noqa: F811
    windows = []

    def make(details_fn=quick_details, facts_fn=quick_facts, K=4):
        settings = QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QSettings.IniFormat)
        w = MainWindow(engines=QUICK_ENGINES, settings=settings, session_path=tmp_path / "session.json",
                       refine_budget_s=0.5, load_model_info=False, details_fn=details_fn, facts_fn=facts_fn)
        w.mark_clean_exit_on_close = False
        qtbot.addWidget(w)
        w.resize(1600, 1000)
        w.show()
        qtbot.waitExposed(w)
        w.k_spin.setValue(K)
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()
        assert all(not w.runner.is_running(j) for j in w.state.jobs.items)


def import_csv(qtbot, w, path):
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.files.import_csv(path)


def test_new_candidates_select_the_best_so_refine_refines_it(qtbot, make_window):
    w = make_window()
    set_target(qtbot, w, "power law")
    clicked = w.gallery.cards[2]
    qtbot.mouseClick(clicked, Qt.LeftButton)
    assert w.state.board.selected is clicked.entry and w.state.board.chosen is clicked.entry
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.n_spin.setValue(32)                                   # new candidates refill the clicked row
    board = w.state.board
    best = min((e for e in board.entries if not e.live), key=lambda e: e.design.error_percent)
    assert board.selected is best and w.design.inspector.design is best.design
    assert w.gallery.cards[0].entry is best and w.gallery.cards[0].property("state") == "selected"
    w.refine_action.trigger()                                    # ▶ (Ctrl+R) refines the best
    job = w.state.jobs.items[-1]
    assert job.start_design is best.design
    qtbot.waitUntil(lambda: not job.active, timeout=30_000)
    # A pinned card the user clicked stays selected through new candidates (it is still on the board).
    pinned = w.gallery.card_of(next(e for e in board.entries if e.kind == "candidate"))
    qtbot.mouseClick(pinned.pin, Qt.LeftButton)
    qtbot.mouseClick(pinned, Qt.LeftButton)
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.design.apply_preset("linear")
    assert board.selected is pinned.entry


def test_the_import_banner_belongs_to_its_target(qtbot, make_window, tmp_path):
    w = make_window()
    path = tmp_path / "unsorted.csv"                              # no units, unsorted rows: two notes
    p = np.linspace(1, 8, 20)
    rows = [f"{a:.3f},{0.3 * a ** 0.8:.4f}" for a in p]
    path.write_text("load,friction\n" + "\n".join(rows[5:] + rows[:5]) + "\n")
    import_csv(qtbot, w, path)
    text = w.banner.label.text()
    assert w.banner.isVisible() and text.startswith("Imported with notes") and "sorted" in text
    assert w.state.target.notice == text
    editor = w.design.editor
    sketch = w.state.target.sketch
    w.state.target.edit(sketch.with_handle(2, float(sketch.handle_friction_N[2]) * 1.1), "Drag handle")
    assert w.banner.isVisible() and w.banner.label.text() == text  # an edit of the imported law keeps it
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.design.apply_preset("linear")
    assert not w.banner.isVisible() and w.state.target.notice == ""  # a preset: another target
    w.refine()                                                       # refinement and export of the preset
    qtbot.waitUntil(lambda: not w.state.jobs.active(), timeout=30_000)
    w.files.export_designs(tmp_path / "preset.h5")
    qtbot.waitUntil(lambda: (tmp_path / "preset.h5").exists(), timeout=10_000)
    assert not w.banner.isVisible()
    w.undo_action.trigger()                                          # back to the imported target
    assert w.banner.isVisible() and w.banner.label.text() == text
    w.undo_action.trigger()
    w.undo_action.trigger()                                          # before the import: no target
    assert w.state.target.sketch is None and not w.banner.isVisible()
    w.redo_action.trigger()
    assert w.banner.isVisible() and w.banner.label.text() == text and editor.shown is w.state.target.sketch
    w.banner.hide()                                                  # dismissed: stays dismissed while
    w.n_spin.setValue(48)                                            # the same target is edited
    assert not w.banner.isVisible()


def test_non_decreasing_is_off_while_a_non_monotone_import_is_active(qtbot, make_window, tmp_path):
    w = make_window()
    action, target = w.design.monotone_action, w.state.target
    assert action.isChecked()                                      # new laws are non-decreasing by default
    path = tmp_path / "falling.csv"
    p = np.linspace(1, 8, 24)
    path.write_text("load (N),friction (N)\n" + "\n".join(f"{a:.3f},{0.4 * a - 0.03 * a * a:.4f}" for a in p))
    import_csv(qtbot, w, path)
    assert not action.isChecked() and not target.monotone
    assert np.any(np.diff(target.target.friction_N[target.target.mask]) < 0)  # kept as measured
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        w.design.apply_preset("bilinear")                        # a new law follows the user's choice (on)
    assert action.isChecked() and target.monotone
    w.undo_action.trigger()
    assert not action.isChecked() and target.sketch.source == "csv:falling.csv"
    with qtbot.waitSignal(w.files.autosaved, timeout=10_000):  # a session of the import, restored
        w.files.autosave()
    other = make_window()
    other.files.restore_session(w.files.session_path)
    qtbot.waitUntil(lambda: other.state.target.sketch is not None, timeout=30_000)
    assert not other.design.monotone_action.isChecked() and not other.state.target.monotone
    action.trigger()                                            # the user makes it non-decreasing
    assert action.isChecked() and np.all(np.diff(target.target.friction_N) >= 0)


def test_smape_is_explained_on_every_figure_and_in_help(qtbot, make_window):
    w = make_window()
    set_target(qtbot, w, "power law")
    card = w.gallery.cards[0]
    assert "sMAPE" in card.title.text() and card.title.toolTip() == SMAPE_TIP
    assert "lower is better" in SMAPE_TIP and "128" in SMAPE_TIP and "not scored" in SMAPE_TIP
    assert "sMAPE" in w.design.inspector.summary.text() and w.design.inspector.summary.toolTip() == SMAPE_TIP
    assert "sMAPE" in w.timing_label.text() and w.timing_label.toolTip() == SMAPE_TIP
    w.refine()
    qtbot.waitUntil(lambda: not w.state.jobs.active(), timeout=30_000)
    table = w.jobs_table
    column = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index("best sMAPE")
    assert table.horizontalHeaderItem(column).toolTip() == SMAPE_TIP and table.item(0, column).toolTip() == SMAPE_TIP
    assert "sMAPE, the error figure" in HELP_HTML and "Lower is better" in HELP_HTML and "128" in HELP_HTML
    # The status bar's model line: the law error on held-out targets from the model card, not parameter sMAPE.
    card_json = json.loads((REPO / "models" / "cvae-compact.card.json").read_text())
    figure = card_json["evaluation"]["results"]["cvae"]["functional_smape_best_of_16"]["median"]
    w.show_environment({"device": "CPU", "model": model_summary(card_json, "cvae-compact", "cpu"),
                        "model_detail": model_detail(card_json), "model_ok": True, "models": {}})
    label = w.model_label.text()
    assert f"law error on held-out targets {figure:.1f} %" in label
    assert "param smape" not in label.lower() and "61.5" not in label  # the parameter figure: tooltip only
    assert "Parameter sMAPE" in w.model_label.toolTip() and "held-out" in w.model_label.toolTip()


def test_cards_show_e_star_largest_d_over_r_and_layout_size(qtbot, make_window):
    w = make_window(facts_fn=card_facts)                        # the real facts, in a worker
    set_target(qtbot, w, "power law")
    board = w.state.board
    qtbot.waitUntil(lambda: all(e.facts is not None for e in board.entries), timeout=60_000)
    for card in w.gallery.cards:
        d, facts = card.design, card.entry.facts
        info = card.info.text()
        assert "seed" not in info and f"E* {d.theta[E_STAR_IDX]:.3g} MPa" in info and f"N {d.N}" in info
        assert f"d/R {d_over_r_text(facts.max_d_over_R)}" in info and ("✓" in info) == facts.hertz_valid
        assert float(d_over_r_text(facts.max_d_over_R)) == pytest.approx(facts.max_d_over_R, abs=0.005)
        assert facts.hertz_valid == d.hertz_valid                # the same validity rule as the design's
        width, depth = design_layout(d).footprint_mm
        assert facts.footprint_mm == pytest.approx((width, depth)) and f"{width:.3g} × {depth:.3g} mm" in info
        assert str(d.seed) in card.toolTip()                      # the seed is still there, in the tooltip


def test_card_facts_wait_while_the_studio_is_busy(qtbot, make_window):
    calls = []

    def counting_facts(design):
        calls.append(design.name)
        return quick_facts(design)

    w = make_window(facts_fn=counting_facts)
    busy = {"now": True}                                        # as while a refinement job runs
    w.card_facts.busy = lambda: busy["now"]
    set_target(qtbot, w, "power law")
    qtbot.wait(700)
    assert calls == [] and "d/R …" in w.gallery.cards[0].info.text() and "layout …" in w.gallery.cards[0].info.text()
    busy["now"] = False                                         # the jobs ended: every card gets its facts
    qtbot.waitUntil(lambda: all(e.facts is not None for e in w.state.board.entries), timeout=10_000)
    assert sorted(calls) == sorted(e.design.name for e in w.state.board.entries)
    assert "d/R 0.10 ✓" in w.gallery.cards[0].info.text()


def test_inspector_layout_fits_the_layout_and_follows_mu_view(qtbot, make_window):
    w = make_window(details_fn=compute_details)                 # the real layout
    set_target(qtbot, w, "power law")
    inspector = w.design.inspector
    qtbot.waitUntil(lambda: inspector.details is not None, timeout=60_000)
    (x0, x1), (y0, y1) = inspector.layout_plot.vb.viewRange()
    x, y = inspector.centres.getData()
    width, depth = inspector.details.layout.footprint_mm
    assert x0 <= x.min() and x.max() <= x1 and y0 <= y.min() and y.max() <= y1
    assert min(x1 - x0, y1 - y0) <= 1.3 * max(width, depth)       # framed on the layout, not ±15 mm round it
    # μ = F/P: the inspector's law plot shows μ too (target, design, band), and F again when toggled off.
    design, target = inspector.design, w.state.target.target
    w.design.mu_view_action.trigger()
    assert w.design.editor.mu_view and inspector.mu_view
    np.testing.assert_allclose(inspector.target_curve.getData()[1], target.friction_N / target.load_N)
    np.testing.assert_allclose(inspector.design_curve.getData()[1], design.friction_N / design.load_N)
    np.testing.assert_allclose(inspector.band_lo.getData()[1], inspector.details.band_p05 / design.load_N)
    assert "μ = F/P" in inspector.law_plot.getAxis("left").labelText
    w.design.mu_view_action.trigger()
    np.testing.assert_allclose(inspector.design_curve.getData()[1], design.friction_N)


def test_the_bilinear_presets_knee_and_second_slope_are_editable(qtbot, make_window):
    w = make_window()
    ws, target = w.design, w.state.target
    set_target(qtbot, w, "linear")
    assert ws.bilinear_bar.isHidden()                           # fields only for the bilinear preset
    set_target(qtbot, w, "bilinear")
    assert ws.bilinear_bar.isVisible()
    assert ws.knee_spin.value() == pytest.approx(4.0) and ws.after_spin.value() == pytest.approx(0.12)
    before = target.sketch
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        ws.knee_spin.setValue(6.0)
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        ws.after_spin.setValue(0.05)
    law, grid = target.sketch.law_N, target.sketch.load_grid_N
    assert np.interp(6.0, grid, law) == pytest.approx(0.3 * 6.0, rel=5e-3)           # μ up to the new knee
    assert np.interp(9.0, grid, law) == pytest.approx(0.3 * 6.0 + 0.05 * 3.0, rel=1e-3)  # then the new slope
    assert "up to 6 N, then 0.05" in target.sketch.note
    w.undo_action.trigger()
    w.undo_action.trigger()
    assert target.sketch is before and ws.knee_spin.value() == pytest.approx(4.0)
    target.set_max_load(5.0)                                    # on another range the knee is in its newtons
    assert ws.knee_spin.value() == pytest.approx(2.0)
    with qtbot.waitSignal(w.candidates.shown, timeout=30_000):
        ws.knee_spin.setValue(1.0)
    assert np.interp(1.0, target.sketch.load_grid_N, target.sketch.law_N) == pytest.approx(0.3, rel=0.02)


def test_a_long_status_error_is_elided_not_cut_by_the_device_label(qtbot, make_window):
    w = make_window()
    w.resize(1000, 700)
    w.device_label.setText("device: GPU NVIDIA H200 · JAX GPU")
    w.model_label.setText("model: cvae-compact · 882 k parameters · law error on held-out targets 1.9 %")
    message = ("Candidates failed: the target law could not be read from the session file because "
               "its friction column holds a value that is not a number at line 4321, column 2 (\"n/a\")")
    w.report_error(message)
    label = w.message_label
    qtbot.waitUntil(lambda: label.width() < 900, timeout=5_000)
    assert label.full_text == message and label.toolTip() == message
    assert label.shown_text().endswith("…") and len(label.shown_text()) < len(message)
    assert label.isVisible() and label.geometry().right() <= w.device_label.geometry().left()
    w.resize(3000, 700)                                          # room enough: the whole message
    qtbot.waitUntil(lambda: label.shown_text() == message, timeout=5_000)
