"""The Validation workspace, offscreen (pytest-qt), with the real boundary-element solve on a small design.

"Validate (BEM)" runs as a job of the shared table, draws the BEM law over the independent-asperity
law, the error per load and the pressure map at the layout slider's load, and warns with the
clearance that should fix it; "Find spacing (BEM)" gives the design the layout it validated, which
export writes with its validation; cancel and close stop the job; a layout over the grid budget
is a one-line banner. Sizes as in tests/test_validation.py (16 asperities, 2–3 loads: seconds).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from studio.design.core import Design
from studio.design.validation import check_design
from studio.gui.validation import ValidationWorkspace
from studio.io.design_file import read_design_file
from studio.jobs import drive
from studio.physics import from_unit
from studio.physics.layout import plan_layout
from test_gui import details_fn, slot_exceptions, window  # noqa: F401  (fixtures)

pytestmark = pytest.mark.gui

SMALL_THETA_UNIT = np.array([0.9, 0.8, 0.1, 0.6, 0.1] + [0.1, 0.2, 0.1, 0.5, 0.1] * 3 + [0.6, 0.5, 0.4])
BEM_TIMEOUT_MS = 240_000  # seconds on a quiet machine; the shared 2-core machine runs at load ~10


def small_design() -> Design:
    """The 16-asperity design of tests/test_validation.py: few contacts, validated in about a second."""
    return Design.evaluate(from_unit(SMALL_THETA_UNIT), 16, 3, name="small", method="test")


def validation_page(qtbot, w, design: Design) -> ValidationWorkspace:
    entry = w.state.board.add(design, select=True)
    qtbot.waitUntil(lambda: entry.details is not None, timeout=10_000)  # quick_details: the layout arrives
    page = next(p for p in w.workspaces if isinstance(p, ValidationWorkspace))
    w.tabs.setCurrentWidget(page)
    return page


def row_button(w, job, text: str) -> QToolButton:
    row = w.jobs_table.rows.index(job)
    return next(b for b in w.jobs_table.cellWidget(row, 7).findChildren(QToolButton) if b.text() == text)


def test_validate_bem_shows_the_bem_law_the_pressure_map_and_the_error(qtbot, window):
    w = window
    design = small_design()
    page = validation_page(qtbot, w, design)
    assert page.summary.text().startswith("<b>small</b> · not validated yet")
    assert page.validate_button.isEnabled() and not page.spacing_button.isEnabled()
    page.loads_spin.setValue(3)
    qtbot.mouseClick(page.validate_button, Qt.LeftButton)
    job = w.state.jobs.items[-1]
    assert job.kind == "BEM" and job.name == "Validate small" and w.jobs_table.rows[-1] is job
    assert not page.validate_button.isEnabled()  # one validation of a design at a time
    qtbot.waitUntil(lambda: not job.active, timeout=BEM_TIMEOUT_MS)
    assert job.state == "finished", job.error
    v = design.validation
    assert v is job.result.validation and v.loads_N.size == 3 and len(v.pressure_maps) == 3
    # The BEM law over the independent-asperity law (the design's own, on the model's grid).
    x, y = page.bem_curve.getData()
    np.testing.assert_allclose(x, [10 / 3, 20 / 3, 10.0])
    np.testing.assert_allclose(y, v.friction_bem_N)
    np.testing.assert_allclose(page.independent_curve.getData()[1], design.friction_N)
    assert not np.allclose(v.friction_bem_N, v.friction_independent_N)  # the part is one body: they differ
    # The error per load, and the summary.
    np.testing.assert_allclose(page.error_bars.opts["height"], v.error_percent)
    assert f"interaction error <b>{v.interaction_error_percent:.2f} %</b>" in page.summary.text()
    # The pressure map at the slider's load (the largest first), beside the layout's contact discs.
    assert page.load_slider.maximum() == 2 and page.load_slider.value() == 2
    np.testing.assert_array_equal(page.pressure_image.image, v.pressure_maps[2].pressure_MPa)
    assert page.colorbar.levels()[1] == pytest.approx(float(v.pressure_maps[2].pressure_MPa.max()))
    assert page.load_label.text().strip() == "10.00 N"
    touching = int(np.sum(v.pressure_maps[2].independent_radius_mm > 0))
    assert len(page.discs.data) == touching > 0
    page.load_slider.setValue(0)
    np.testing.assert_array_equal(page.pressure_image.image, v.pressure_maps[0].pressure_MPa)
    assert page.load_label.text().strip() == "3.33 N" and page.law_load_line.value() == pytest.approx(10 / 3)
    assert v.pressure_maps[0].pressure_MPa.shape != v.pressure_maps[2].pressure_MPa.shape  # one grid per load
    # Over the tolerance: the warning names the clearance that should fix it, and the search is offered.
    assert page.warning.isVisible() == (not v.passed)
    if not v.passed:
        estimate = job.result.clearance_estimate_mm
        assert (estimate is None) != (job.result.estimate_note == "")  # an estimate, or why there is none
        assert (f"about <b>{estimate:.3g} mm</b>" if estimate is not None else job.result.estimate_note) \
            in page.warning.text()
        assert estimate is None or estimate > v.clearance_mm
        assert page.spacing_button.isEnabled()
    # Another tab and back: the selection and the validation stay.
    w.tabs.setCurrentWidget(w.design)
    w.tabs.setCurrentWidget(page)
    assert page.report is job.result


@pytest.fixture(scope="module")
def small_error_percent():
    """The small design's interaction error at 2 loads on its own layout (the tolerance below is half of it)."""
    return drive(check_design(small_design(), loads=2)).validation.interaction_error_percent


def test_find_spacing_gives_the_design_the_layout_it_validated_and_export_keeps_it(qtbot, window, tmp_path,
                                                                                     small_error_percent):
    w = window
    design = small_design()
    page = validation_page(qtbot, w, design)
    page.loads_spin.setValue(2)
    page.tolerance_spin.setValue(round(small_error_percent / 2, 2))
    job = page.validate_selected()
    qtbot.waitUntil(lambda: not job.active, timeout=BEM_TIMEOUT_MS)
    assert job.state == "finished" and not design.validation.passed
    assert page.warning.isVisible() and "Find spacing (BEM)" in page.warning.text()
    old_layout = w.state.board.selected.details.layout if w.state.board.selected.details.layout else None
    qtbot.mouseClick(page.spacing_button, Qt.LeftButton)
    search_job = w.state.jobs.items[-1]
    assert search_job.name == "Spacing small" and search_job.kind == "BEM"
    qtbot.waitUntil(lambda: not search_job.active, timeout=BEM_TIMEOUT_MS)
    assert search_job.state == "finished", search_job.error
    search = search_job.result.search
    assert search.reached
    # The design now carries the layout the search validated, and its validation passes.
    assert design.layout is search.layout and design.layout.clearance_mm > 0.05
    assert design.validation is search.validation and design.validation.passed
    assert design.validation.matches_layout(design.layout.x_mm, design.layout.y_mm)
    entry = w.state.board.selected
    np.testing.assert_array_equal(entry.details.x_mm, design.layout.x_mm)  # the inspector's layout follows
    assert old_layout is None or not np.array_equal(old_layout.x_mm, design.layout.x_mm)
    assert page.warning.isVisible() and page.warning.text().startswith("✓")
    assert not page.spacing_button.isEnabled()
    assert w.banner.isVisible() and "clearance" in w.banner.label.text()
    # Export writes the layout and its validation (the design file's validation group).
    path = tmp_path / "validated.h5"
    with qtbot.waitSignal(w.files.saved, timeout=30_000):
        w.files.export_designs(path)
    f = read_design_file(path)
    stored = f.validations["small"]
    assert f.layout_details["small"].clearance_mm == pytest.approx(design.layout.clearance_mm)
    np.testing.assert_allclose(stored.friction_bem_N, design.validation.friction_bem_N)
    assert stored.matches_layout(*f.layouts["small"])
    # Reopened, the design carries them again; the workspace shows the stored laws (the maps are not stored).
    with qtbot.waitSignal(w.files.opened, timeout=30_000):
        w.files.open_design_file(path)
    reopened = w.state.board.selected.design
    assert reopened is not design and reopened.validation is not None
    page.show_entry(w.state.board.selected)
    np.testing.assert_allclose(page.bem_curve.getData()[1], stored.friction_bem_N)
    assert "Validate (BEM) again" in page.summary.text()


def test_a_validation_can_be_cancelled(qtbot, window):
    w = window
    design = small_design()
    page = validation_page(qtbot, w, design)
    page.loads_spin.setValue(16)
    job = page.validate_selected()
    qtbot.waitUntil(lambda: job.progress is not None, timeout=BEM_TIMEOUT_MS)
    qtbot.mouseClick(row_button(w, job, "■"), Qt.LeftButton)
    qtbot.waitUntil(lambda: not job.active, timeout=60_000)
    assert job.state == "cancelled" and job.progress.step < job.progress.steps
    assert design.validation is None and page.report is None
    assert page.validate_button.isEnabled()
    qtbot.waitUntil(lambda: not w.runner.is_running(job), timeout=10_000)


def test_a_layout_over_the_grid_budget_gives_a_one_line_banner_and_keeps_the_design(qtbot, window):
    w = window
    design = small_design()
    a = design.asperities
    design.layout = wide = plan_layout(a.height_mm, a.radius_mm, float(design.theta[20]), clearance_mm=30.0)
    page = validation_page(qtbot, w, design)
    page.loads_spin.setValue(3)
    job = page.validate_selected()
    qtbot.waitUntil(lambda: not job.active, timeout=BEM_TIMEOUT_MS)
    assert job.state == "failed"
    qtbot.waitUntil(w.banner.isVisible, timeout=5_000)
    text = w.banner.label.text()
    assert "over the budget" in text and "\n" not in text and text.startswith("Validate small failed: ")
    assert design.layout is wide and design.validation is None  # nothing the user had is lost
    assert page.validate_button.isEnabled() and not page.warning.isVisible()


def test_closing_with_a_validation_running_stops_it_and_its_worker_process(qtbot, window):
    """In the studio the BEM runs in a worker process (studio.design.processes); closing ends both."""
    from studio.design.processes import EngineProcessPool

    w = window
    w.engines.pool = EngineProcessPool(spare=0)
    design = small_design()
    page = validation_page(qtbot, w, design)
    page.loads_spin.setValue(16)
    job = page.validate_selected()
    qtbot.waitUntil(lambda: job.progress is not None, timeout=BEM_TIMEOUT_MS)  # the worker is solving
    processes = [wk.process for wk in w.engines.pool._busy]
    assert len(processes) == 1 and processes[0].is_alive()
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 10
    assert job.control.cancelled and not w.runner.is_running(job)  # (its end is announced after the close)
    assert not processes[0].is_alive()
    assert design.validation is None
