"""The target editor: draw F(P) with the mouse, click points, drag handles; μ = F/P view.

A view of studio.state.TargetState: it shows the state's sketch and hands each finished
gesture to `TargetState.edit` (one undo step; candidates follow), never during a drag.
Draw mode: press-drag paints a stroke; on release it becomes a TargetSketch by the one
target rule (studio.design.targets: sorted by load, smoothed, resampled to the grid,
non-decreasing if the target is) with ~8 handles.
Points mode: each click adds a point; the target goes through the clicked points.
In either mode a drag that starts on a handle moves that handle instead.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from studio.design.load_range import load_grid
from studio.design.targets import SketchError, TargetSketch, stroke_to_sketch
from studio.gui.plots import TARGET_PEN, UNMEASURED_BRUSH, HoverReadout, labelled_plot
from studio.state import TargetState

HANDLE_PICK_PX = 12


class _EditorViewBox(pg.ViewBox):
    """Routes left-button gestures to the editor; everything else keeps pyqtgraph's pan/zoom."""

    def __init__(self, editor: "TargetEditor"):
        super().__init__()
        self._editor = editor

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() == Qt.LeftButton and self._editor._drag_event(ev, self.mapToView(ev.pos())):
            ev.accept()
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.LeftButton and self._editor._click_event(self.mapToView(ev.pos())):
            ev.accept()
            return
        super().mouseClickEvent(ev)


class TargetEditor(QWidget):
    message = Signal(str)                  # a user-facing problem (shown in the banner)

    def __init__(self, target: TargetState, parent=None):
        super().__init__(parent)
        self.target = target
        self.shown: TargetSketch | None = None  # the state's sketch, or a handle drag in progress
        self.mode = "draw"          # "draw" | "points"
        self.mu_view = False        # show μ = F/P instead of F
        self._stroke: list[tuple[float, float]] = []
        self._points: list[tuple[float, float]] = []
        self._drag_handle: int | None = None
        self._drag_sketch: TargetSketch | None = None

        self.view = pg.PlotWidget(viewBox=_EditorViewBox(self))
        self.plot = self.view.getPlotItem()
        labelled_plot(self.plot, ("Normal load P", "N"), ("Friction force F", "N"), "Target")
        self.max_load_N = target.max_load_N  # the load range the axes show (0, P_max]
        self._frame_load_range(self.max_load_N)
        self.shade_low = pg.LinearRegionItem((0, 0), movable=False, brush=UNMEASURED_BRUSH, pen=pg.mkPen(None))
        self.shade_high = pg.LinearRegionItem((self.max_load_N,) * 2, movable=False, brush=UNMEASURED_BRUSH,
                                              pen=pg.mkPen(None))
        for region in (self.shade_low, self.shade_high):
            region.setZValue(-10)
            region.setToolTip("Not specified by the target: extrapolated, excluded from errors")
            self.plot.addItem(region)
        self.curve = pg.PlotDataItem(pen=TARGET_PEN, name="target")
        self.stroke_curve = pg.PlotDataItem(pen=pg.mkPen("#888", width=2, style=Qt.DashLine))
        self.points_item = pg.ScatterPlotItem(size=8, brush=pg.mkBrush("#888"), pen=pg.mkPen("#444"))
        self.handles = pg.ScatterPlotItem(size=13, brush=pg.mkBrush("#ffffff"), pen=pg.mkPen("#1a1a1a", width=2),
                                          symbol="o")
        self.handles.setZValue(20)
        # the measured record an imported target was made from: its points, outliers marked (never edited)
        self.measured_item = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(90, 90, 90, 150), pen=pg.mkPen(None),
                                                name="measured")
        self.outlier_item = pg.ScatterPlotItem(size=10, symbol="x", brush=pg.mkBrush("#c62828"),
                                               pen=pg.mkPen("#c62828", width=1.5), name="outliers")
        for item in (self.measured_item, self.outlier_item):
            item.setZValue(5)
            item.setToolTip("Measured points of the imported record (× outliers, left out when smoothed)")
        for item in (self.measured_item, self.outlier_item, self.curve, self.stroke_curve, self.points_item,
                     self.handles):
            self.plot.addItem(item)
        self.readout = HoverReadout(self.plot, "P = {x:.4g} N   F = {y:.4g} N")
        self.view.setToolTip("Draw mode: press and drag to paint a friction law F(P).\n"
                             "Points mode: click to add points.\nDrag a white handle to reshape the law.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        target.changed.connect(self._target_changed)

    # --- public ---------------------------------------------------------------
    def _target_changed(self, target: TargetState) -> None:
        """Show the state's sketch; a new law from elsewhere (preset, file) is framed whole."""
        sketch, before = target.sketch, self.shown
        self.shown = sketch
        self._stroke.clear()
        self.stroke_curve.setData([], [])
        self._refresh()
        if target.max_load_N != self.max_load_N:  # another load range: the axes follow it, the shape stays
            self.max_load_N = target.max_load_N
            self._frame_load_range(self.max_load_N)
        elif sketch is not None and sketch.source != "sketch" and (before is None or before.source != sketch.source):
            self.plot.enableAutoRange()

    def _frame_load_range(self, max_load_N: float) -> None:
        """Axes over the load range (0, P_max]; the friction axis framed on the law, or 0.4·P_max without one."""
        self.plot.vb.setLimits(xMin=-0.05 * max_load_N, xMax=1.05 * max_load_N)
        self.plot.setXRange(0, max_load_N, padding=0.02)
        if self.shown is not None and not self.mu_view:
            top = float(self.shown.law_N.max())
            if self.shown.measured is not None and self.shown.measured[1].size:  # outliers stay in view
                top = max(top, float(self.shown.measured[1].max()))
            self.plot.setYRange(0, top, padding=0.05)
        elif not self.mu_view:
            self.plot.setYRange(0, 0.4 * max_load_N, padding=0.02)
        else:
            self.plot.enableAutoRange(axis="y")

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode != "points":
            self._points.clear()
            self.points_item.setData([], [])

    def set_mu_view(self, on: bool) -> None:
        self.mu_view = bool(on)
        self.plot.setLabel("left", "Friction coefficient μ = F/P" if on else "Friction force F",
                           units=None if on else "N")
        self.readout.fmt = "P = {x:.4g} N   μ = {y:.3f}" if on else "P = {x:.4g} N   F = {y:.4g} N"
        self._refresh()
        self.plot.enableAutoRange(axis="y")

    # --- coordinates ----------------------------------------------------------
    def _to_display(self, p, f):
        p = np.asarray(p, float)
        f = np.asarray(f, float)
        return (p, f / np.maximum(p, 1e-9)) if self.mu_view else (p, f)

    def _to_friction(self, p: float, y: float) -> float:
        return y * p if self.mu_view else y

    def _refresh(self) -> None:
        s = self.shown
        if s is None or s.measured is None:
            self.measured_item.setData([], [])
            self.outlier_item.setData([], [])
        else:
            load, friction, outlier = s.measured
            self.measured_item.setData(*self._to_display(load[~outlier], friction[~outlier]))
            self.outlier_item.setData(*self._to_display(load[outlier], friction[outlier]))
        if s is None:
            for item in (self.curve, self.handles):
                item.setData([], [])
            self.shade_low.setRegion((0, 0))
            self.shade_high.setRegion((self.target.max_load_N,) * 2)
            return
        grid = s.load_grid_N
        self.curve.setData(*self._to_display(grid, s.law_N))
        self.handles.setData(*self._to_display(s.handle_load_N, s.handle_friction_N))
        lo, hi = s.specified_range_N
        self.shade_low.setRegion((0, lo) if not s.mask[0] else (0, 0))
        self.shade_high.setRegion((hi, grid[-1]) if not s.mask[-1] else (grid[-1],) * 2)

    def _handle_at(self, pos: QPointF) -> int | None:
        if self.shown is None:
            return None
        px, py = self.plot.vb.viewPixelSize()
        hp, hf = self._to_display(self.shown.handle_load_N, self.shown.handle_friction_N)
        d = np.hypot((hp - pos.x()) / px, (hf - pos.y()) / py)
        i = int(np.argmin(d))
        return i if d[i] <= HANDLE_PICK_PX else None

    # --- gestures (called by the view box) --------------------------------------
    def _drag_event(self, ev, pos: QPointF) -> bool:
        if ev.isStart():
            self._drag_handle = self._handle_at(self.plot.vb.mapToView(ev.buttonDownPos()))
            self._drag_sketch = self.shown
            if self._drag_handle is None and self.mode != "draw":
                return False  # plain pan in points mode
            if self._drag_handle is None:
                start = self.plot.vb.mapToView(ev.buttonDownPos())
                self._stroke = [(start.x(), start.y())]
        if self._drag_handle is not None:
            i = self._drag_handle
            self.shown = self._drag_sketch.with_handle(i, self._to_friction(
                float(self._drag_sketch.handle_load_N[i]), pos.y()))
            self._refresh()
            if ev.isFinish():
                self._drag_handle = self._drag_sketch = None
                self.target.edit(self.shown, "Drag handle")
            return True
        if self.mode != "draw":
            return False
        self._stroke.append((pos.x(), pos.y()))
        arr = np.asarray(self._stroke)
        self.stroke_curve.setData(arr[:, 0], arr[:, 1])
        if ev.isFinish():
            self._finish_stroke()
        return True

    def _finish_stroke(self) -> None:
        arr = np.asarray(self._stroke, dtype=float)
        self._stroke.clear()
        self.stroke_curve.setData([], [])
        p = arr[:, 0]
        f = np.array([self._to_friction(pi, yi) for pi, yi in arr])
        try:
            new = stroke_to_sketch(p, f, monotone=self.target.monotone_for_new_laws, source="sketch",
                                   load_grid_N=load_grid(self.target.max_load_N))
        except SketchError as exc:
            self.message.emit(f"Drawing ignored: {exc}")
            return
        self.target.edit(new, "Draw target")

    def _click_event(self, pos: QPointF) -> bool:
        if self.mode != "points":
            return False
        self._points.append((pos.x(), self._to_friction(pos.x(), pos.y())))
        pts = np.asarray(self._points)
        self.points_item.setData(*self._to_display(pts[:, 0], pts[:, 1]))
        if len(self._points) >= 2:
            try:
                new = stroke_to_sketch(pts[:, 0], pts[:, 1], monotone=self.target.monotone_for_new_laws, smooth=False,
                                       source="sketch", handles=min(8, len(self._points)),
                                       load_grid_N=load_grid(self.target.max_load_N))
            except SketchError as exc:
                self.message.emit(f"Point ignored: {exc}")
                return True
            self.target.edit(new, "Add point")
        return True
