"""The inspector of the selected design: law with band and residual, mixture pdfs, asperities, layout.

Everything drawn here was computed elsewhere: the design's law and asperities come with
the Design, the spread band and the fabrication layout with contact radii at every grid
load come from its `DesignDetails` (studio.design.details, computed in a worker). The only
arithmetic on the GUI thread is evaluating the Gaussian pdfs of θ for display.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from studio.design.core import Design, Target
from studio.design.details import DesignDetails, mixture_pdfs
from studio.design.load_range import length_scale
from studio.gui.help import SMAPE_TIP
from studio.gui.pattern_strip import PatternStripView
from studio.gui.plots import (BAND_BRUSH, COMPONENT_COLORS, DESIGN_COLOR, DESIGN_PEN, PIN_COLORS, TARGET_PEN,
                              HoverReadout, labelled_plot)
from studio.physics import LOAD_GRID_N
from studio.physics.theta import B_IDX, E_STAR_IDX, N_COMPONENTS, TAU0_IDX

MAX_PINS = len(PIN_COLORS)


class Inspector(QWidget):
    """Shows one design against the target (a view: the Design workspace tells it what to show)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.design: Design | None = None
        self.target: Target | None = None
        self.details: DesignDetails | None = None
        self.pinned: list[Design] = []
        self.mu_view = False  # show μ = F/P instead of F (the Design workspace's μ = F/P toggle)

        # Law + residual.
        self.law_view = pg.GraphicsLayoutWidget()
        self.law_plot = labelled_plot(self.law_view.addPlot(row=0, col=0), ("Normal load P", "N"),
                                      ("Friction force F", "N"), "Friction law of the selected design")
        self.law_plot.addLegend(offset=(8, 4), labelTextSize="9pt")  # top left: laws rise to the right
        self.resid_plot = labelled_plot(self.law_view.addPlot(row=1, col=0), ("Normal load P", "N"),
                                        ("Residual", "%"))
        self.resid_plot.setXLink(self.law_plot)
        self.law_view.ci.layout.setRowStretchFactor(0, 3)
        self.law_view.ci.layout.setRowStretchFactor(1, 1)
        self.band_lo = pg.PlotDataItem(pen=pg.mkPen(None))
        self.band_hi = pg.PlotDataItem(pen=pg.mkPen(None))
        self.band = pg.FillBetweenItem(self.band_lo, self.band_hi, brush=BAND_BRUSH)
        self.law_plot.addItem(self.band)
        # A FillBetweenItem cannot be a legend sample (pyqtgraph crashes painting it): use a wide pen.
        self._band_sample = pg.PlotDataItem(pen=pg.mkPen((213, 94, 0, 70), width=9))
        self.law_plot.legend.addItem(self._band_sample, "band p5–p95 (other moulds)")
        self.target_curve = self.law_plot.plot(pen=TARGET_PEN, name="target")
        self.design_curve = self.law_plot.plot(pen=DESIGN_PEN, name="design")
        self.pin_curves = [self.law_plot.plot(pen=pg.mkPen(c, width=1.5, style=Qt.DashLine)) for c in PIN_COLORS]
        self.resid_zero = pg.InfiniteLine(0, angle=0, pen=pg.mkPen("#999"))
        self.resid_plot.addItem(self.resid_zero)
        self.resid_curve = self.resid_plot.plot(pen=pg.mkPen(DESIGN_COLOR, width=1.5))
        self.law_readout = HoverReadout(self.law_plot, "P = {x:.4g} N   F = {y:.4g} N")
        self.resid_readout = HoverReadout(self.resid_plot, "P = {x:.4g} N   {y:+.1f} %")

        # Mixture pdfs.
        self.mix_view = pg.GraphicsLayoutWidget()
        self.h_plot = labelled_plot(self.mix_view.addPlot(row=0, col=0), ("Summit height h", "mm"),
                                    ("pdf", "1/mm"), "Height distribution")
        self.r_plot = labelled_plot(self.mix_view.addPlot(row=1, col=0), ("Tip radius R", "mm"),
                                    ("pdf", "1/mm"), "Radius distribution")
        self.h_plot.addLegend(offset=(-4, 4), labelTextSize="8pt", verSpacing=-6)
        self.h_curves = [self.h_plot.plot(pen=pg.mkPen(c, width=2), name=f"component {k + 1}")
                         for k, c in enumerate(COMPONENT_COLORS)]
        self.r_curves = [self.r_plot.plot(pen=pg.mkPen(c, width=2)) for c in COMPONENT_COLORS]
        self.h_total = self.h_plot.plot(pen=pg.mkPen("#1a1a1a", width=1.5, style=Qt.DashLine), name="total")
        self.r_total = self.r_plot.plot(pen=pg.mkPen("#1a1a1a", width=1.5, style=Qt.DashLine))
        self.h_readout = HoverReadout(self.h_plot, "h = {x:.4g} mm")
        self.r_readout = HoverReadout(self.r_plot, "R = {x:.4g} mm")

        # Asperities scatter + layout.
        self.asp_view = pg.GraphicsLayoutWidget()
        self.scatter_plot = labelled_plot(self.asp_view.addPlot(row=0, col=0), ("Summit height h", "mm"),
                                          ("Tip radius R", "mm"), "Asperities")
        self.scatter = pg.ScatterPlotItem(size=6, pen=pg.mkPen(None))
        self.scatter_plot.addItem(self.scatter)
        self.scatter_readout = HoverReadout(self.scatter_plot, "h = {x:.4g} mm  R = {y:.4g} mm")
        self.layout_plot = labelled_plot(self.asp_view.addPlot(row=1, col=0), ("x", "mm"), ("y", "mm"),
                                         "Layout: contact discs")
        self.layout_plot.setAspectLocked(True)
        self.centres = pg.ScatterPlotItem(size=3, brush=pg.mkBrush("#555"), pen=pg.mkPen(None))
        self.discs = pg.ScatterPlotItem(pxMode=False, pen=pg.mkPen("#333", width=0.5))
        self.layout_plot.addItem(self.discs)
        self.layout_plot.addItem(self.centres)
        self.layout_readout = HoverReadout(self.layout_plot, "x = {x:.4g} mm  y = {y:.4g} mm")

        self.load_slider = QSlider(Qt.Horizontal)
        self.load_slider.setRange(0, LOAD_GRID_N.size - 1)
        self.load_slider.setValue(LOAD_GRID_N.size - 1)
        self.load_slider.setToolTip("Load at which the contact discs of the layout are drawn")
        self.load_label = QLabel()
        self.load_slider.valueChanged.connect(self._load_changed)
        self.pattern_view = PatternStripView()  # the contact pattern at the slider's load and at every load
        self.summary = QLabel("Select a design card to inspect it.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary.setToolTip(SMAPE_TIP)
        self.hertz_label = QLabel()
        self.hertz_label.setStyleSheet("color: #a33; font-weight: bold;")
        self.hertz_label.hide()

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.mix_view, 0, 0)
        grid.addWidget(self.asp_view, 0, 1)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Layout load"))
        slider_row.addWidget(self.load_slider, 1)
        slider_row.addWidget(self.load_label)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.summary)
        box.addWidget(self.hertz_label)
        box.addWidget(self.law_view, 5)
        box.addLayout(grid, 5)
        box.addLayout(slider_row)
        box.addWidget(self.pattern_view)
        self._load_changed(self.load_slider.value())

    # --- updates ---------------------------------------------------------------
    def set_mu_view(self, on: bool) -> None:
        """Show the laws (target, design, band, pins) as μ = F/P, or as F [N]; the residual is the same in both."""
        self.mu_view = bool(on)
        self.law_plot.setLabel("left", "Friction coefficient μ = F/P" if on else "Friction force F",
                               units=None if on else "N")
        self.law_readout.fmt = "P = {x:.4g} N   μ = {y:.3f}" if on else "P = {x:.4g} N   F = {y:.4g} N"
        self.set_target(self.target)
        if self.design is not None and self.design.friction_N is not None:
            self.design_curve.setData(self.design.load_N, self._law(self.design.load_N, self.design.friction_N))
        self._update_band()
        self.set_pinned(self.pinned)
        self.law_plot.enableAutoRange()

    def _law(self, load_N, friction_N) -> np.ndarray:
        """A law as the law plot shows it: F [N], or μ = F/P in the μ view."""
        f = np.asarray(friction_N, dtype=np.float64)
        return f / np.maximum(np.asarray(load_N, dtype=np.float64), 1e-300) if self.mu_view else f

    def set_target(self, target: Target | None) -> None:
        self.target = target
        if target is None:
            self.target_curve.setData([], [])
        else:
            self.target_curve.setData(target.load_N, self._law(target.load_N, target.friction_N))
        self._update_residual()
        if self.design is None:  # the layout load's label follows the target's range until a design is shown
            self._load_changed(self.load_slider.value())

    def set_design(self, design: Design | None, details: DesignDetails | None = None) -> None:
        """Show a design (its law updates live while a job runs: same items, new data)."""
        self.design = design
        self.details = details
        if design is None:
            for item in (self.design_curve, self.band_lo, self.band_hi, self.resid_curve, self.scatter,
                         self.discs, self.centres, *self.h_curves, *self.r_curves, self.h_total, self.r_total):
                item.setData([], [])
            self.summary.setText("Select a design card to inspect it.")
            self.hertz_label.hide()
            return
        if design.friction_N is not None:
            self.design_curve.setData(design.load_N, self._law(design.load_N, design.friction_N))
        err = "–" if design.error_percent is None else f"{design.error_percent:.2f} %"
        self.summary.setText(f"<b>{design.name or 'design'}</b> · {design.method or '?'} · N = {design.N} · "
                             f"seed {design.seed} · sMAPE {err} · E* {design.theta[E_STAR_IDX]:.2f} MPa · "
                             f"τ0 {design.theta[TAU0_IDX]:.3f} MPa · B {design.theta[B_IDX]:.3f}")
        self._update_residual()
        self._update_mixture()
        self._update_asperities()
        self._load_changed(self.load_slider.value())
        self.set_details(details)

    def set_details(self, details: DesignDetails | None) -> None:
        self.details = details
        if details is None:
            self.band_lo.setData([], [])
            self.band_hi.setData([], [])
            self.discs.setData([], [])
            self.centres.setData([], [])
            self.hertz_label.hide()
            return
        grid = self._grid()
        self._update_band()
        warnings = [] if details.hertz_valid else [
            f"⚠ Outside small-strain Hertz validity: some contact at {grid[-1]:g} N has d/R > 0.25. "
            "Predicted friction is less reliable."]
        if self.design is not None:
            warnings += [f"⚠ Fabrication: {w}." for w in self.design.fabrication_warnings()]
        self.hertz_label.setText("\n".join(warnings))
        self.hertz_label.setVisible(bool(warnings))
        self.centres.setData(details.x_mm, details.y_mm)
        self._update_discs()
        self._frame_layout()

    def _update_band(self) -> None:
        det = self.details
        if det is None:
            return
        grid = self._grid()
        self.band_lo.setData(grid, self._law(grid, det.band_p05))
        self.band_hi.setData(grid, self._law(grid, det.band_p95))

    def _frame_layout(self) -> None:
        """Frame the layout plot on the layout itself: its footprint (the caps at the plate, centred on 0), or
        the centres with the largest contact disc around them; a 3 mm cluster fills the plot, not 1/10 of it."""
        det = self.details
        if det is None or det.x_mm.size == 0:
            return
        x, y = np.asarray(det.x_mm), np.asarray(det.y_mm)
        r = float(np.max(det.contact_radius_mm[-1])) if det.contact_radius_mm.size else 0.0
        x0, x1, y0, y1 = x.min() - r, x.max() + r, y.min() - r, y.max() + r
        footprint = getattr(det.layout, "footprint_mm", None)
        if footprint is not None:
            x0, x1 = min(x0, -footprint[0] / 2), max(x1, footprint[0] / 2)
            y0, y1 = min(y0, -footprint[1] / 2), max(y1, footprint[1] / 2)
        pad = 0.05 * max(x1 - x0, y1 - y0, 1e-3)
        self.layout_plot.setRange(xRange=(x0 - pad, x1 + pad), yRange=(y0 - pad, y1 + pad), padding=0)

    def set_pinned(self, designs: list[Design]) -> None:
        self.pinned = list(designs)[:MAX_PINS]
        for i, curve in enumerate(self.pin_curves):
            if i < len(self.pinned) and self.pinned[i].friction_N is not None:
                curve.setData(self.pinned[i].load_N, self._law(self.pinned[i].load_N, self.pinned[i].friction_N))
            else:
                curve.setData([], [])

    def _update_residual(self) -> None:
        d, t = self.design, self.target
        if d is None or t is None or d.friction_N is None:
            self.resid_curve.setData([], [])
            return
        if d.max_load_N != t.max_load_N:  # a live design of the range before; rescored when it ends
            self.resid_curve.setData([], [])
            return
        self.resid_curve.setData(t.load_N, d.residual_percent(t), connect="finite")

    def _update_mixture(self) -> None:
        t, max_load = self.design.theta, self.design.max_load_N
        scale = length_scale(max_load)  # the design box's axes, in real millimetres
        h = np.linspace(-0.2, 1.4, 240) * scale
        r = np.linspace(0.0, 5.0, 240) * scale
        ph, pr = mixture_pdfs(t, h, "h", max_load), mixture_pdfs(t, r, "R", max_load)
        for k in range(N_COMPONENTS):
            self.h_curves[k].setData(h, ph[k])
            self.r_curves[k].setData(r, pr[k])
        self.h_total.setData(h, ph.sum(0))
        self.r_total.setData(r, pr.sum(0))

    def _update_asperities(self) -> None:
        a = self.design.asperities
        if a is None:
            self.scatter.setData([], [])
            return
        comp = np.asarray(a.component, dtype=int)
        brushes = [pg.mkBrush(COMPONENT_COLORS[int(c) % N_COMPONENTS]) for c in comp]
        self.scatter.setData(np.asarray(a.height_mm), np.asarray(a.radius_mm), brush=brushes)

    def _grid(self) -> np.ndarray:
        """The load grid shown: the design's, else the target's."""
        if self.design is not None:
            return self.design.load_N
        return self.target.load_N if self.target is not None else LOAD_GRID_N

    def _load_changed(self, index: int) -> None:
        grid = self._grid()
        load = grid[index]  # two decimals from 1 N up; three significant digits on smaller ranges
        self.load_label.setText(f"{load:5.2f} N" if grid[-1] >= 1 else f"{load:.3g} N")
        self.pattern_view.set_index(index)
        self._update_discs()

    def _update_discs(self) -> None:
        det, d = self.details, self.design
        if det is None or d is None or d.asperities is None or det.x_mm.size != det.contact_radius_mm.shape[1]:
            self.discs.setData([], [])
            return
        a = det.contact_radius_mm[self.load_slider.value()]
        comp = np.asarray(d.asperities.component, dtype=int)
        touching = a > 0
        brushes = [pg.mkBrush(COMPONENT_COLORS[int(c) % N_COMPONENTS]) for c in comp[touching]]
        self.discs.setData(det.x_mm[touching], det.y_mm[touching], size=2 * a[touching], brush=brushes)
