"""The Map workspace: the design space as a 2-D map of the Janus latent space, a view of the state.

    [colour by ▾] [at load] [projection ▾] [designs] [Make map]
    [Sweep μ at the load from … to … in … steps, N of the toolbar ▶]    status
    ┌──────────────────────────────────────┐┌────────────────┐
    │ dataset designs, coloured            ││ the sweep's    │  ★ the board's designs (the gallery's cards)
    │ ★  ✚  ●─●─● (the sweep's path)       ││ laws, by step  │  ✚ the current target's inverse solutions
    └──────────────────────────────────────┘└────────────────┘  ○ the selected design

Everything it computes runs as a job of the shared jobs table (studio/design/map.py, Qt-free): the
map itself (encoding, projection; cached, so the second time it is a file read) when the tab is
first shown, the target's inverse solutions when the target changes, a clicked point's design
(decoded and simulated exactly), which goes on the board selected, so the inspector shows it, and a
property sweep (studio/design/sweep.py): its path drawn on the map, its laws beside it; a click on
the path puts that step's design on the board.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QSplitter,
                               QVBoxLayout, QWidget)

from studio.design.map import (METHODS, PROPERTIES, MapRequest, design_at_job, inverse_solutions_job, map_job,
                               place_designs, sweep_step_job)
from studio.design.search import _model_name
from studio.design.sweep import sweep_job, sweep_report
from studio.gui.plots import labelled_plot
from studio.gui.workspaces import Studio
from studio.physics import LOAD_GRID_N
from studio.state import RESULT, Job

COLOUR_MAP = pg.colormap.get("viridis")
PROPERTY_LABELS = {"mu": "μ = F/P at", "exponent": "power-law exponent n", "N": "asperity count N"}


class MapWorkspace(QWidget):
    title = "Map"

    def __init__(self, studio: Studio):
        super().__init__()
        self.studio = studio
        self.state = studio.state
        self.design_map = None
        self.janus = None  # the model the map was made with (its job loads the shipped one if needed)
        self._map_job: Job | None = None
        self._inverse_job: Job | None = None
        self._inverse_for = None  # the target the shown inverse solutions belong to
        self._decode_jobs: set[Job] = set()
        self._sweep_job: Job | None = None
        self.sweep_steps: list = []  # the last sweep's steps (studio.design.sweep.SweepStep)
        self._sweep_click = False

        self.property_combo = QComboBox()
        for name in PROPERTIES:
            self.property_combo.addItem(PROPERTY_LABELS[name], name)
        self.property_combo.setToolTip("Colour the designs by this property")
        self.load_spin = QDoubleSpinBox()
        self.load_spin.setRange(float(LOAD_GRID_N[0]), float(LOAD_GRID_N[-1]))
        self.load_spin.setSingleStep(float(LOAD_GRID_N[0]))
        self.load_spin.setDecimals(3)
        self.load_spin.setValue(5.0)
        self.load_spin.setSuffix(" N")
        self.load_spin.setToolTip("Load at which μ = F/P is shown (snapped to the 128-point load grid)")
        self.method_combo = QComboBox()
        for method in METHODS:
            self.method_combo.addItem(method.upper(), method)
        self.method_combo.setToolTip("PCA: the two leading axes of the latent codes (instant, the default: "
                                     "docs/janus.md). UMAP: a neighbourhood map (umap-learn; slow the first time)")
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(100, 50_000)
        self.samples_spin.setSingleStep(1000)
        self.samples_spin.setValue(4000)
        self.samples_spin.setToolTip("How many of the training data's designs to show")
        self.make_button = QPushButton("Make map")
        self.make_button.setToolTip("Compute the map in the background (or read it from the cache)")
        self.sweep_from = self._mu_spin(0.2, "First requested μ of the sweep")
        self.sweep_to = self._mu_spin(1.5, "Last requested μ of the sweep")
        self.sweep_count = QSpinBox()
        self.sweep_count.setRange(2, 200)
        self.sweep_count.setValue(50)
        self.sweep_count.setToolTip("Steps of the sweep")
        self.sweep_button = QPushButton("Sweep ▶")
        self.sweep_button.setToolTip("Walk the latent space so μ at the chosen load goes from the first value to "
                                     "the last, at the toolbar's N (a background job; docs/janus.md)")
        self.status = QLabel("The map is made when this tab is first shown.")
        self.status.setWordWrap(True)

        self.plot_widget = pg.PlotWidget()
        self.plot = labelled_plot(self.plot_widget.getPlotItem(), ("latent axis 1", ""), ("latent axis 2", ""))
        self.points = pg.ScatterPlotItem(size=5, pen=None, pxMode=True)
        self.board_marks = pg.ScatterPlotItem(size=14, symbol="star", pen=pg.mkPen("#1a1a1a", width=1),
                                              brush=pg.mkBrush("#D55E00"))
        self.inverse_marks = pg.ScatterPlotItem(size=12, symbol="+", pen=pg.mkPen("#CC0000", width=2),
                                                brush=pg.mkBrush("#CC0000"))
        self.selected_mark = pg.ScatterPlotItem(size=22, symbol="o", pen=pg.mkPen("#1a1a1a", width=2), brush=None)
        self.sweep_path = pg.PlotDataItem(pen=pg.mkPen("#1a1a1a", width=1.5), symbol="o", symbolSize=7,
                                          symbolPen=pg.mkPen("#1a1a1a"), symbolBrush=pg.mkBrush("#ffffff"))
        for item, z in ((self.points, 0), (self.sweep_path, 1), (self.board_marks, 2), (self.inverse_marks, 3),
                        (self.selected_mark, 4)):
            item.setZValue(z)
            self.plot.addItem(item)
        self.laws_widget = pg.PlotWidget()
        self.laws_plot = labelled_plot(self.laws_widget.getPlotItem(), ("P", "N"), ("F", "N"),
                                       title="Laws along the sweep (exact)")
        self.law_curves: list[pg.PlotDataItem] = []  # one per step, reused by the next sweep
        self.legend = QLabel("")
        self.legend.setToolTip("Colour scale: dark blue (low) → yellow (high), 2nd to 98th percentile")

        controls = QHBoxLayout()
        for w in (QLabel("Colour by"), self.property_combo, self.load_spin, QLabel("Projection"), self.method_combo,
                  QLabel("Designs"), self.samples_spin, self.make_button):
            controls.addWidget(w)
        controls.addStretch(1)
        sweep = QHBoxLayout()
        for w in (QLabel("Sweep μ at the load from"), self.sweep_from, QLabel("to"), self.sweep_to, QLabel("in"),
                  self.sweep_count, QLabel("steps"), self.sweep_button):
            sweep.addWidget(w)
        sweep.addStretch(1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.plot_widget)
        split.addWidget(self.laws_widget)
        split.setSizes([700, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(sweep)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(self.legend)

        self.make_button.clicked.connect(self.make_map)
        self.sweep_button.clicked.connect(self.start_sweep)
        self.sweep_path.sigPointsClicked.connect(self._sweep_point_clicked)
        self.property_combo.currentIndexChanged.connect(self.recolour)
        self.load_spin.valueChanged.connect(self.recolour)
        self.plot_widget.scene().sigMouseClicked.connect(self._clicked)
        self.state.jobs.ended.connect(self._job_ended)
        self.state.board.changed.connect(lambda _board: self.mark_board())
        self.state.board.selection_changed.connect(lambda _entry: self.mark_board())
        self.state.target.changed.connect(lambda _target: self._target_changed())

    @staticmethod
    def _mu_spin(value: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.01, 3.0)
        spin.setSingleStep(0.05)
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def _load_N(self) -> float:
        """The load of the spin box, snapped to the load grid (μ is read there)."""
        return float(LOAD_GRID_N[int(np.argmin(np.abs(LOAD_GRID_N - self.load_spin.value())))])

    # --- the map ---------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.design_map is None and self._map_job is None:
            self.make_map()
        elif self.design_map is not None:
            self.start_inverse_solutions()

    def request(self) -> MapRequest:
        return MapRequest(samples=self.samples_spin.value(), method=self.method_combo.currentData())

    def make_map(self) -> None:
        """Start the map job (a no-op while one runs)."""
        if self._map_job is not None and self._map_job.active:
            return
        request = self.request()
        janus = self.state.models.get("janus")
        job = Job(f"Design map ({request.method.upper()}, {request.samples} designs)", "map")
        self._map_job = job
        self.status.setText("Making the map in the background…")
        self.studio.jobs.start(job, lambda control: self._map_generator(request, janus, control))

    @staticmethod
    def _map_generator(request, janus, control):
        """The map job, and the model it was made with (the shipped one unless the state holds one)."""
        if janus is None:
            from studio.models import load_janus
            janus = load_janus()
        return (yield from map_job(request, janus, control=control)), janus

    def _job_ended(self, job: Job) -> None:
        if job is self._map_job:
            self._map_ended(job)
        elif job is self._inverse_job:
            if job.state == "finished" and self.design_map is not None:
                xy = np.asarray(job.result)
                self.inverse_marks.setData(pos=xy)
        elif job is self._sweep_job:
            self._sweep_ended(job)
        elif job in self._decode_jobs:
            self._decode_jobs.discard(job)
            if job.state == "finished":
                self.state.board.add(job.result, RESULT, select=True)
            elif job.state == "failed":
                self.studio.report(f"Could not decode the map point: {job.error}", "error")

    def _map_ended(self, job: Job) -> None:
        self._map_job = None
        if job.state != "finished":
            self.status.setText(f"The map was not made ({job.state}{': ' + job.error if job.error else ''}).")
            if job.state == "failed":
                self.studio.report(f"Design map: {job.error}", "error")
            return
        self.design_map, self.janus = job.result
        m = self.design_map
        self.plot.setLabel("bottom", f"{m.method.upper()} axis 1")
        self.plot.setLabel("left", f"{m.method.upper()} axis 2")
        self.status.setText(f"{len(m)} designs of the training data, laws {m.law_source}. Click a point to "
                            "decode it into the inspector. ★ board designs, ✚ the target's inverse solutions.")
        self.recolour()
        self.plot.autoRange()
        self.mark_board()
        self.start_inverse_solutions()

    def recolour(self) -> None:
        if self.design_map is None:
            return
        name = self.property_combo.currentData()
        self.load_spin.setEnabled(name == "mu")
        load = self._load_N()
        values = self.design_map.property(name, load_N=load)
        lo, hi = np.percentile(values, [2, 98])
        scaled = np.clip((values - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
        brushes = [pg.mkBrush(c) for c in COLOUR_MAP.map(scaled, mode="qcolor")]
        self.points.setData(pos=self.design_map.xy, brush=brushes)
        what = f"μ at {load:g} N" if name == "mu" else PROPERTY_LABELS[name]
        self.legend.setText(f"Colour: {what}, {lo:.3g} (dark blue) → {hi:.3g} (yellow), each design at its own N "
                            "(a code stands for its design at any N: the sweep and the target are at the toolbar's N)")

    # --- marks -------------------------------------------------------------------------------
    def mark_board(self) -> None:
        """★ for the board's designs, ○ around the selected one (encoding a few designs: milliseconds)."""
        if self.design_map is None or self.janus is None:
            return
        entries = list(self.state.board.entries)
        xy = place_designs(self.design_map, self.janus, [e.design for e in entries]) if entries else np.empty((0, 2))
        self.board_marks.setData(pos=xy)
        selected = self.state.board.selected
        at = [i for i, e in enumerate(entries) if e is selected]
        self.selected_mark.setData(pos=xy[at] if at else np.empty((0, 2)))

    def _target_changed(self) -> None:
        if self.isVisible():
            self.start_inverse_solutions()

    def start_inverse_solutions(self) -> None:
        target = self.state.target.target
        if self.design_map is None or self.janus is None or target is None or target is self._inverse_for:
            return
        if self._inverse_job is not None and self._inverse_job.active:
            self._inverse_job.control.cancel()
        self._inverse_for = target
        job = Job("Inverse solutions on the map", "map")
        self._inverse_job = job
        design_map, janus = self.design_map, self.janus
        self.studio.jobs.start(job, lambda control: inverse_solutions_job(design_map, janus, target,
                                                                          control=control))

    # --- the property sweep --------------------------------------------------------------
    def start_sweep(self) -> Job | None:
        """Sweep μ at the chosen load through the requested values at the toolbar's N (a background job)."""
        if self.design_map is None or self.janus is None or (self._sweep_job is not None and self._sweep_job.active):
            return None
        values = np.linspace(self.sweep_from.value(), self.sweep_to.value(), self.sweep_count.value())
        n, load, janus = int(self.state.target.N), self._load_N(), self.janus
        job = Job(f"Sweep μ({load:g} N) {values[0]:g} → {values[-1]:g}, N {n}", "sweep")
        self._sweep_job = job
        self.studio.jobs.start(job, lambda control: sweep_job(janus, n, values, load, control=control))
        return job

    def _sweep_ended(self, job: Job) -> None:
        self._sweep_job = None
        if job.state != "finished":
            if job.state == "failed":
                self.studio.report(f"Property sweep: {job.error}", "error")
            return
        self.sweep_steps = steps = job.result
        xy = self.design_map.place(np.array([s.z for s in steps]))
        self.sweep_path.setData(xy[:, 0], xy[:, 1])
        colours = COLOUR_MAP.map(np.linspace(0.0, 1.0, len(steps)), mode="qcolor")
        while len(self.law_curves) < len(steps):
            self.law_curves.append(self.laws_plot.plot([], []))
        for curve, step, colour in zip(self.law_curves, steps, colours):
            curve.setData(LOAD_GRID_N, step.law_N, pen=pg.mkPen(colour, width=1.5))
            curve.show()
        for curve in self.law_curves[len(steps):]:
            curve.hide()
        r = sweep_report(steps)["chosen_seed"]
        self.status.setText(f"Sweep of {len(steps)} steps at N = {steps[0].N}: exact μ against the request, "
                            f"Spearman {r['spearman']:.4f}, worst step {r['max_rel_error_percent']:.2f} %, "
                            f"{r['steps_within_2_percent']} of {r['steps']} within 2 %. Click a step on the path "
                            "to put its design on the board.")

    def _sweep_point_clicked(self, _item, points, *_event) -> None:
        if not len(points) or not self.sweep_steps:
            return
        self._sweep_click = True
        step = self.sweep_steps[points[0].index()]
        target, model = self.state.target.target, _model_name(self.janus, "janus")
        job = Job(f"Sweep step μ {step.requested_mu:.3g}", "map")
        self._decode_jobs.add(job)
        self.studio.jobs.start(job, lambda control: sweep_step_job(step, target, model=model, control=control))

    # --- clicks ------------------------------------------------------------------------------
    def _clicked(self, event) -> None:
        if self._sweep_click:  # the same click hit a step of the sweep's path (items hear it first)
            self._sweep_click = False
            return
        if self.design_map is None or self.janus is None:
            return
        pos = self.plot.vb.mapSceneToView(event.scenePos())
        self.decode_point(self.design_map.nearest(pos.x(), pos.y()))

    def decode_point(self, index: int) -> Job:
        """Decode map point `index` in the background; the design goes on the board, selected."""
        design_map, janus, target = self.design_map, self.janus, self.state.target.target
        job = Job(f"Map point {index}", "map")
        self._decode_jobs.add(job)
        self.selected_mark.setData(pos=design_map.xy[index][None])
        self.studio.jobs.start(job, lambda control: design_at_job(design_map, index, janus, target, control=control))
        return job
