"""The Validation workspace: will the moulded part give the promised law? (boundary-element check, issue 15)

    ┌ [Validate (BEM)]  loads [16]  tolerance [1 %]  [Find spacing (BEM)] ───────────────┐
    │ summary: interaction error, worst load, grid, clearance, time                      │
    │ ⚠ warning: error over the tolerance → the clearance that should fix it             │
    │ law: independent-asperity law + BEM law   │ interaction error per load + tolerance │
    │ layout: caps, independent contact discs   │ BEM contact pressure map at that load   │
    │ Layout load ───────────○──────── 10.00 N                                            │
    └─────────────────────────────────────────────────────────────────────────────────────┘

A view of the selected design. "Validate (BEM)" and "Find spacing (BEM)" are jobs of the shared
jobs table (studio.design.validation.check_design / respace_design): in a worker process when the
studio has one (the solve is Python and FFTs that would hold the GUI's GIL, and ContactMechanics'
import takes seconds), else in a thread. Their result is a ValidationReport; the design then
carries its validation (`Design.validation`, written with it on export) and, after a spacing search,
the layout the search validated (`Design.layout`: shown, exported and fabricated). Failures (a layout
over the grid budget, a solver that does not converge) end the job as failed; the window's banner
shows the one-line message and the design is left as it was.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QSplitter,
                               QVBoxLayout, QWidget)

from studio.design.details import with_layout
from studio.design.validation import (DEFAULT_LOADS, DEFAULT_TOLERANCE_PERCENT, MAX_LOADS, ValidationReport,
                                      check_design, respace_design)
from studio.gui.pattern_strip import PatternStrips, PatternStripView
from studio.gui.plots import COMPONENT_COLORS, DESIGN_PEN, HoverReadout, labelled_plot
from studio.gui.workspaces import Studio
from studio.physics import LOAD_GRID_N
from studio.physics.contact import DEFAULT_BUDGET_CELLS
from studio.physics.theta import N_COMPONENTS
from studio.state import Job

BEM_COLOR = "#0072B2"
TOLERANCE_PEN = pg.mkPen("#a33", width=1.5, style=Qt.DashLine)
# Zero pressure white (the plot's background), rising through yellow to dark red.
PRESSURE_MAP = pg.ColorMap([0.0, 0.02, 0.35, 0.7, 1.0],
                           [(255, 255, 255), (255, 247, 188), (254, 178, 76), (227, 26, 28), (110, 0, 20)])
INTRO = ("Select a design, then <b>Validate (BEM)</b>: its fabrication layout is solved as one elastic body "
         "(boundary elements, ContactMechanics) and the law it gives is drawn over the independent-asperity "
         "law the design was made with.")


class ValidationWorkspace(QWidget):
    title = "Validation"
    in_process = True  # run the BEM in the studio's worker processes when there are some (tests: threads)
    budget_cells = DEFAULT_BUDGET_CELLS

    def __init__(self, studio: Studio):
        super().__init__()
        self.studio = studio
        self.board = studio.state.board
        self.design = None
        self.report: ValidationReport | None = None
        self._reports: dict[int, tuple[object, ValidationReport]] = {}  # id(design) → (design, its last report)
        self._jobs: dict[Job, tuple[object, str]] = {}  # running job → (design, "check" | "spacing")

        self.validate_button = QPushButton("Validate (BEM)")
        self.validate_button.setToolTip("Solve the selected design's laid-out part as one elastic body (a background "
                                        "job) and compare its law with the independent-asperity law")
        self.validate_button.clicked.connect(self.validate_selected)
        self.loads_spin = QSpinBox()
        self.loads_spin.setRange(1, MAX_LOADS)
        self.loads_spin.setValue(DEFAULT_LOADS)
        self.loads_spin.setToolTip("Number of loads, evenly spaced up to the largest (10 N)")
        self.tolerance_spin = QDoubleSpinBox()
        self.tolerance_spin.setRange(0.05, 50.0)
        self.tolerance_spin.setSingleStep(0.25)
        self.tolerance_spin.setValue(DEFAULT_TOLERANCE_PERCENT)
        self.tolerance_spin.setSuffix(" %")
        self.tolerance_spin.setToolTip("Largest accepted sMAPE between the BEM law and the independent-asperity law")
        self.spacing_button = QPushButton("Find spacing (BEM)")
        self.spacing_button.setToolTip("Search the smallest clearance between caps whose BEM law stays within the "
                                       "tolerance (a background job); the design then carries that layout")
        self.spacing_button.clicked.connect(self.find_spacing_selected)
        self.spacing_button.setEnabled(False)
        controls = QHBoxLayout()
        controls.addWidget(self.validate_button)
        for text, widget in (("loads", self.loads_spin), ("tolerance", self.tolerance_spin)):
            controls.addWidget(QLabel(f"  {text}"))
            controls.addWidget(widget)
        controls.addWidget(self.spacing_button)
        controls.addStretch(1)

        self.summary = QLabel(INTRO)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.warning.hide()

        # Law (BEM over independent) and the error per load.
        self.law_view = pg.GraphicsLayoutWidget()
        self.law_plot = labelled_plot(self.law_view.addPlot(row=0, col=0), ("Normal load P", "N"),
                                      ("Friction force F", "N"), "Friction law: independent asperities vs. one body")
        self.law_plot.addLegend(offset=(8, 4), labelTextSize="9pt")
        self.independent_curve = self.law_plot.plot(pen=DESIGN_PEN, name="independent asperities (the design's law)")
        self.bem_curve = self.law_plot.plot(pen=pg.mkPen(BEM_COLOR, width=2), symbol="o", symbolSize=6,
                                            symbolBrush=BEM_COLOR, symbolPen=None, name="BEM: the laid-out part")
        self.law_load_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#888", style=Qt.DotLine))
        self.law_plot.addItem(self.law_load_line)
        self.error_plot = labelled_plot(self.law_view.addPlot(row=0, col=1), ("Normal load P", "N"),
                                        ("Interaction error", "%"), "Error per load (sMAPE term), tolerance dashed")
        self.error_bars = pg.BarGraphItem(x=[], height=[], width=0.3, brush=pg.mkBrush(BEM_COLOR), pen=None)
        self.error_plot.addItem(self.error_bars)
        self.tolerance_line = pg.InfiniteLine(DEFAULT_TOLERANCE_PERCENT, angle=0, pen=TOLERANCE_PEN)
        self.error_plot.addItem(self.tolerance_line)

        self.law_view.ci.layout.setColumnStretchFactor(0, 3)
        self.law_view.ci.layout.setColumnStretchFactor(1, 2)
        self.law_readout = HoverReadout(self.law_plot, "P = {x:.2f} N   F = {y:.3f} N")
        self.error_readout = HoverReadout(self.error_plot, "P = {x:.2f} N   {y:.2f} %")

        # The layout (independent contact discs) beside the BEM pressure map at the slider's load.
        self.map_view = pg.GraphicsLayoutWidget()
        self.layout_plot = labelled_plot(self.map_view.addPlot(row=0, col=0), ("x", "mm"), ("y", "mm"),
                                         "Layout: independent contact discs")
        self.layout_plot.setAspectLocked(True)
        self.discs = pg.ScatterPlotItem(pxMode=False, pen=pg.mkPen("#333", width=0.5))
        self.centres = pg.ScatterPlotItem(size=3, brush=pg.mkBrush("#555"), pen=pg.mkPen(None))
        self.domain = pg.PlotDataItem(pen=pg.mkPen(BEM_COLOR, width=1, style=Qt.DashLine))
        for item in (self.discs, self.centres, self.domain):
            self.layout_plot.addItem(item)
        self.pressure_plot = labelled_plot(self.map_view.addPlot(row=0, col=1), ("x", "mm"), ("y", "mm"),
                                           "BEM contact pressure")
        self.pressure_plot.setAspectLocked(True)
        self.pressure_image = pg.ImageItem(axisOrder="col-major")  # pressure[i, j]: i along x, j along y
        self.pressure_plot.addItem(self.pressure_image)
        self.map_centres = pg.ScatterPlotItem(size=3, brush=pg.mkBrush("#555"), pen=pg.mkPen(None))
        self.pressure_plot.addItem(self.map_centres)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=PRESSURE_MAP, label="p [MPa]", interactive=False,
                                        width=12)
        self.colorbar.setImageItem(self.pressure_image, insert_in=self.pressure_plot)
        self.layout_readout = HoverReadout(self.layout_plot, "x = {x:.2f} mm  y = {y:.2f} mm")
        self.pressure_readout = HoverReadout(self.pressure_plot, "x = {x:.2f} mm  y = {y:.2f} mm")

        self.load_slider = QSlider(Qt.Horizontal)
        self.load_slider.setRange(0, 0)
        self.load_slider.setToolTip("Validated load at which the layout's contact discs and the BEM pressure are drawn")
        self.load_slider.valueChanged.connect(self._load_changed)
        self.load_label = QLabel("– N")
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Layout load"))
        slider_row.addWidget(self.load_slider, 1)
        slider_row.addWidget(self.load_label)

        split = QSplitter(Qt.Vertical)
        split.addWidget(self.law_view)
        split.addWidget(self.map_view)
        split.setSizes([380, 420])
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(controls)
        box.addWidget(self.summary)
        box.addWidget(self.warning)
        box.addWidget(split, 1)
        box.addLayout(slider_row)
        self.pattern_view = PatternStripView()  # the contact pattern at every load (shared with the Design tab)
        box.addWidget(self.pattern_view)
        self.patterns = PatternStrips(self.board, self.pattern_view, parent=self)

        self.board.selection_changed.connect(self.show_entry)
        self.board.details_changed.connect(lambda e: e is self.board.selected and self.show_entry(e))
        studio.state.jobs.ended.connect(self._job_ended)
        self.tolerance_spin.valueChanged.connect(lambda v: self.tolerance_line.setValue(v))
        self.show_entry(self.board.selected)

    # --- actions ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Closing: results of pattern predictions still running are dropped."""
        self.patterns.stop()

    def validate_selected(self) -> Job | None:
        """Validate (BEM): a background job on the selected design's layout."""
        return self._start(check_design, "check", "Validate")

    def find_spacing_selected(self) -> Job | None:
        """Find spacing (BEM): the smallest clearance whose BEM law is within the tolerance (a background job)."""
        return self._start(respace_design, "spacing", "Spacing")

    def _start(self, fn, kind: str, verb: str) -> Job | None:
        entry = self.board.selected
        if entry is None or entry.live:
            self.studio.report("Select a design card (not a running job's) to validate.", "warn")
            return None
        design = entry.design
        if any(d is design for d, _ in self._jobs.values()):
            self.studio.report(f"{design.name} is being validated already (see the jobs table).", "warn")
            return None
        layout = design.layout if design.layout is not None else getattr(entry.details, "layout", None)
        # The worker gets the design without its old validation (pressure maps): less to send.
        sent = dataclasses.replace(design, validation=None)
        options = dict(loads=self.loads_spin.value(), tolerance_percent=self.tolerance_spin.value(),
                       budget_cells=self.budget_cells)
        pool = self.studio.processes() if self.in_process else None

        def make(control):
            if pool is not None:
                return pool.run_job(fn, (sent, layout), options, control=control)
            return fn(sent, layout, control=control, **options)

        job = self.studio.jobs.start(Job(f"{verb} {design.name}", "BEM"), make)
        self._jobs[job] = (design, kind)
        self._show_buttons()
        return job

    # --- results ---------------------------------------------------------------------------
    def _job_ended(self, job: Job) -> None:
        mine = self._jobs.pop(job, None)
        if mine is None:
            return
        design, kind = mine
        self._show_buttons()
        if job.state != "finished" or not isinstance(job.result, ValidationReport):
            return  # failures reach the banner from the window (one line); the design is left as it was
        report = job.result
        if report.validation is not None:
            if kind == "spacing":  # the layout the search validated becomes the design's
                design.layout = report.layout
                entry = self.board.entry_of(design)
                if entry is not None and entry.details is not None:
                    self.board.set_details(design, with_layout(entry.details, report.layout))
            design.validation = report.validation
        self._reports[id(design)] = (design, report)
        if self.board.selected is not None and self.board.selected.design is design:
            self.show_entry(self.board.selected)
        if kind == "spacing" and report.search is not None:
            self.studio.report(report.search.message, "info" if report.search.reached else "warn")

    def report_for(self, design) -> ValidationReport | None:
        """The last report made here for `design`, else one from the validation it carries (a design file's)."""
        kept = self._reports.get(id(design))
        if kept is not None and kept[0] is design and kept[1].validation is design.validation:
            return kept[1]
        if kept is not None and kept[0] is design and kept[1].validation is None:
            return kept[1]  # a spacing search that solved nothing: its message
        if design.validation is not None and design.layout is not None:
            return ValidationReport(design.name, design.layout, design.validation)
        return None

    # --- showing ---------------------------------------------------------------------------
    def show_entry(self, entry) -> None:
        self.design = None if entry is None else entry.design
        self.report = None if self.design is None else self.report_for(self.design)
        d, r = self.design, self.report
        v = None if r is None else r.validation
        if d is not None and d.friction_N is not None:
            self.independent_curve.setData(LOAD_GRID_N, d.friction_N)
        else:
            self.independent_curve.setData([], [])
        if v is None:
            self.bem_curve.setData([], [])
            self.error_bars.setOpts(x=[], height=[])
        else:
            self.bem_curve.setData(v.loads_N, v.friction_bem_N)
            width = 0.6 * float(v.loads_N[0]) if v.loads_N.size else 0.3
            self.error_bars.setOpts(x=v.loads_N, height=v.error_percent, width=width)
            self.tolerance_spin.blockSignals(True)
            self.tolerance_spin.setValue(v.tolerance_percent)
            self.tolerance_spin.blockSignals(False)
            self.tolerance_line.setValue(v.tolerance_percent)
        maps = [] if v is None else v.pressure_maps
        self.load_slider.blockSignals(True)
        self.load_slider.setRange(0, max(len(maps), v.loads_N.size if v is not None else 1) - 1)
        self.load_slider.setValue(self.load_slider.maximum())
        self.load_slider.blockSignals(False)
        self._show_summary()
        self._show_buttons()
        self.patterns.refresh(entry if entry is not None and entry is self.board.selected else None)
        self._load_changed(self.load_slider.value())

    def _show_summary(self) -> None:
        d, r = self.design, self.report
        v = None if r is None else r.validation
        if d is None:
            self.summary.setText(INTRO)
            self.warning.hide()
            return
        if v is None:
            self.summary.setText(f"<b>{d.name}</b> · not validated yet: <b>Validate (BEM)</b> solves its layout as "
                                 "one elastic body and draws the law it gives over the independent-asperity law.")
            if r is not None and r.search is not None:
                self._warn(r.search.message)
            else:
                self.warning.hide()
            return
        s = v.summary()
        big = s["grid"]["largest"]
        layout = r.layout
        self.summary.setText(
            f"<b>{d.name}</b> · interaction error <b>{v.interaction_error_percent:.2f} %</b> (tolerance "
            f"{v.tolerance_percent:g} %) · worst {s['worst_load_error_percent']:.2f} % at {s['worst_load_N']:.2f} N · "
            f"{v.loads_N.size} loads to {v.max_load_N:g} N · grid up to {big[0]} × {big[1]} cells"
            + (f", {v.grid_change_percent:.2f} % change on 1.5× coarser cells"
               if v.grid_change_percent > 0 else "")
            + f" · clearance {v.clearance_mm:.3g} mm, footprint {layout.footprint_mm[0]:.1f} × "
              f"{layout.footprint_mm[1]:.1f} mm · {v.elapsed_s:.1f} s"
            + ("" if v.pressure_maps else " · pressure maps: Validate (BEM) again to see them (files keep the laws)"))
        if r.search is not None and r.search.reached:
            self._warn(f"✓ {r.search.message}. The design now carries this layout (footprint "
                       f"{layout.footprint_mm[0]:.1f} × {layout.footprint_mm[1]:.1f} mm): Export writes it with "
                       "this validation.", ok=True)
        elif not v.passed:
            if r.search is not None:
                fix = r.search.message[0].upper() + r.search.message[1:] + "."
            elif r.clearance_estimate_mm is not None:
                fix = (f"A clearance of about <b>{r.clearance_estimate_mm:.3g} mm</b> between caps should fix it "
                       f"(first-order estimate; now {v.clearance_mm:.3g} mm): <b>Find spacing (BEM)</b> checks it.")
            else:
                fix = (f"No estimate: {r.estimate_note}. <b>Find spacing (BEM)</b> searches the smallest clearance "
                       f"that keeps the law within {v.tolerance_percent:g} % (now {v.clearance_mm:.3g} mm).")
            self._warn(f"⚠ The laid-out part's law differs from the independent-asperity law by "
                       f"{v.interaction_error_percent:.2f} %, more than the {v.tolerance_percent:g} % tolerance: "
                       f"neighbouring caps push each other down through the part. {fix}")
        elif not v.grid_converged:
            self._warn("⚠ " + v.notes[-1] if v.notes else "⚠ the grid check did not converge")
        else:
            self.warning.hide()

    def _warn(self, text: str, ok: bool = False) -> None:
        self.warning.setStyleSheet("color: #1a7a2e;" if ok else "color: #a33; font-weight: bold;")
        self.warning.setText(text)
        self.warning.show()

    def _show_buttons(self) -> None:
        d = self.design
        busy = d is not None and any(x is d for x, _ in self._jobs.values())
        v = None if self.report is None else self.report.validation
        self.validate_button.setEnabled(d is not None and not busy)
        self.spacing_button.setEnabled(d is not None and not busy and v is not None and not v.passed)

    def _load_changed(self, index: int) -> None:
        d, r = self.design, self.report
        v = None if r is None else r.validation
        if v is not None and 0 <= index < v.loads_N.size and d is not None:  # the grid load nearest the validated one
            self.pattern_view.set_index(int(np.argmin(np.abs(np.asarray(d.load_N) - float(v.loads_N[index])))))
        else:
            self.pattern_view.set_index(LOAD_GRID_N.size - 1)
        maps = [] if v is None else v.pressure_maps
        layout = None if r is None else r.layout
        if layout is None and d is not None:
            entry = self.board.selected
            layout = d.layout if d.layout is not None else getattr(getattr(entry, "details", None), "layout", None)
        if layout is not None:
            self.centres.setData(np.asarray(layout.x_mm), np.asarray(layout.y_mm))
        else:
            self.centres.setData([], [])
        if v is None or not 0 <= index < v.loads_N.size:
            self.load_label.setText("– N")
            for item in (self.discs, self.map_centres, self.domain):
                item.setData([], [])
            self.law_load_line.hide()
            self.pressure_image.clear()
            self.pressure_plot.setTitle("BEM contact pressure", size="10pt")
            return
        load = float(v.loads_N[index])
        self.load_label.setText(f"{load:5.2f} N")
        self.law_load_line.setValue(load)
        self.law_load_line.show()
        if index >= len(maps):
            self.discs.setData([], [])
            self.map_centres.setData([], [])
            self.domain.setData([], [])
            self.pressure_image.clear()
            self.pressure_plot.setTitle("BEM contact pressure (run Validate (BEM) to see it)", size="10pt")
            return
        m = maps[index]
        x, y = np.asarray(layout.x_mm), np.asarray(layout.y_mm)
        a = np.asarray(m.independent_radius_mm)
        touching = a > 0
        comp = np.asarray(d.asperities.component, dtype=int) if d.asperities is not None else np.zeros(x.size, int)
        brushes = [pg.mkBrush(COMPONENT_COLORS[int(c) % N_COMPONENTS]) for c in comp[touching]]
        self.discs.setData(x[touching], y[touching], size=2 * a[touching], brush=brushes)
        g = m.grid
        w, h = g.shape[0] * g.cell_mm, g.shape[1] * g.cell_mm
        self.domain.setData([g.x0_mm, g.x0_mm + w, g.x0_mm + w, g.x0_mm, g.x0_mm],
                            [g.y0_mm, g.y0_mm, g.y0_mm + h, g.y0_mm + h, g.y0_mm])
        peak = float(np.max(m.pressure_MPa)) if m.pressure_MPa.size else 0.0
        self.pressure_image.setImage(m.pressure_MPa, autoLevels=False)
        self.pressure_image.setRect(QRectF(g.x0_mm, g.y0_mm, w, h))
        self.colorbar.setLevels((0.0, max(peak, 1e-9)))
        inside = (x >= g.x0_mm) & (x <= g.x0_mm + w) & (y >= g.y0_mm) & (y <= g.y0_mm + h)
        self.map_centres.setData(x[inside], y[inside])
        self.pressure_plot.setTitle(f"BEM contact pressure at {load:.2f} N (peak {peak:.2f} MPa, "
                                    f"{g.shape[0]} × {g.shape[1]} cells)", size="10pt")
        self.pressure_plot.autoRange()
