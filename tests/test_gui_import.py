"""The import dialog of a measured record (pytest-qt, offscreen): branch choice, smoothing control, measured
points over the target, in the dialog and in the target editor after Import."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest

from studio.gui.import_dialog import ImportDialog
from studio.io.record import DEFAULT_SMOOTHING_PERCENT
from test_gui import details_fn, slot_exceptions, window  # noqa: F401  (the studio window fixtures)

pg.setConfigOptions(mouseRateLimit=-1)
pytestmark = pytest.mark.gui
RECORDS = Path(__file__).resolve().parent / "data" / "records"


def open_dialog(qtbot, path) -> ImportDialog:
    dialog = ImportDialog(path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: bool(dialog.csv is not None or dialog.error), timeout=20_000)
    return dialog


def wait_reading(qtbot, dialog):
    qtbot.waitUntil(lambda: bool(dialog.csv is not None or dialog.error), timeout=20_000)


def test_branch_choice_defaults_to_loading_and_can_be_changed(qtbot, slot_exceptions):
    dialog = open_dialog(qtbot, RECORDS / "two_branches.csv")
    assert dialog.branch == "loading" and dialog.csv.branch == "loading"
    assert "found: loading and unloading branches" in dialog.found_label.text()
    at_5N = lambda csv: np.interp(5.0, csv.load_N, csv.friction_N)
    loading = at_5N(dialog.csv)
    assert "unloading branch (39 rows, lines 43–81) left out" in dialog.notes_label.text()
    dialog.branch_combo.setCurrentText("unloading")
    wait_reading(qtbot, dialog)
    assert dialog.csv.branch == "unloading"
    assert at_5N(dialog.csv) == pytest.approx(0.88 * loading, rel=0.01)  # the 12 % lower branch
    dialog.branch_combo.setCurrentText("mean")
    wait_reading(qtbot, dialog)
    assert "mean of the loading" in dialog.notes_label.text()


def test_a_branch_the_record_lacks_cannot_be_chosen(qtbot, slot_exceptions):
    dialog = open_dialog(qtbot, RECORDS / "noise_3pct.csv")
    items = dialog.branch_combo.model()
    enabled = {dialog.branch_combo.itemText(i): items.item(i).isEnabled() for i in range(dialog.branch_combo.count())}
    assert enabled == {"loading": True, "unloading": False, "mean": False}


def test_smoothing_starts_on_for_a_noisy_record_and_its_strength_is_shown_and_adjustable(qtbot, slot_exceptions):
    dialog = open_dialog(qtbot, RECORDS / "noise_3pct.csv")
    assert dialog.smooth_check.isChecked() and dialog.smooth_spin.isEnabled()
    assert dialog.smooth_spin.value() == DEFAULT_SMOOTHING_PERCENT
    assert f"smoothed ± {DEFAULT_SMOOTHING_PERCENT:g} % of load" in dialog.notes_label.text()
    assert "noise ≈" in dialog.notes_label.text()
    smoothed = dialog.csv.friction_N.copy()
    dialog.smooth_spin.setValue(25.0)
    wait_reading(qtbot, dialog)
    assert dialog.csv.smoothing_percent == 25.0 and "±25 % of the load" in dialog.notes_label.text()
    dialog.smooth_check.setChecked(False)
    wait_reading(qtbot, dialog)
    assert dialog.csv.smoothing_percent == 0 and not dialog.smooth_spin.isEnabled()
    assert "not smoothed" in dialog.notes_label.text()
    assert not np.allclose(dialog.csv.friction_N, smoothed)


def test_a_clean_curve_starts_unsmoothed(qtbot, slot_exceptions):
    dialog = open_dialog(qtbot, RECORDS / "two_branches.csv")
    assert not dialog.smooth_check.isChecked() and not dialog.smooth_spin.isEnabled()


def test_dialog_shows_the_measured_points_outliers_and_target(qtbot, slot_exceptions):
    dialog = open_dialog(qtbot, RECORDS / "spikes.csv")
    assert len(dialog.measured_item.data) == 37 and len(dialog.outlier_item.data) == 3
    np.testing.assert_allclose(np.sort(dialog.outlier_item.data["x"]), [2.25, 5.5, 8.5])
    assert "line 23 (5.5 N, +218 %)" in dialog.notes_label.text()
    x, _ = dialog.target_curve.getData()
    assert x.size == dialog.csv.mask.sum()


def test_an_impossible_choice_is_said_in_the_dialog_and_import_is_off(qtbot, slot_exceptions):
    dialog = open_dialog(qtbot, RECORDS / "spikes.csv")
    dialog.branch_combo.setCurrentText("unloading")  # disabled in the list, still settable by code
    wait_reading(qtbot, dialog)
    assert "no unloading branch" in dialog.notes_label.text() and not dialog.import_button.isEnabled()


def test_import_puts_the_measured_points_over_the_target(qtbot, window):
    with qtbot.waitSignal(window.files.opened, timeout=20_000):
        window.files.ask_import(RECORDS / "noisy_two_branches.csv")
        dialog = window.files.import_dialog
        qtbot.waitUntil(lambda: dialog.import_button.isEnabled(), timeout=20_000)
        dialog.import_button.click()
    sketch = window.state.target.sketch
    assert sketch.source == "csv:noisy_two_branches.csv" and "loading branch" in sketch.note
    editor = window.design.editor
    load, friction, outlier = sketch.measured
    assert outlier.sum() == 2 and load.size == 79
    assert len(editor.measured_item.data) == 77 and len(editor.outlier_item.data) == 2
    k = 20.0 / sketch.max_load_N
    window.state.target.set_max_load(20.0)  # the points follow the load range with the law
    np.testing.assert_allclose(np.sort(editor.measured_item.data["x"]), np.sort(k * load[~outlier]))
    window.design.apply_preset("linear")  # a target not made from a record shows no points
    assert len(editor.measured_item.data) == 0 and len(editor.outlier_item.data) == 0
