"""The Dynamics workspace: the selected design's interface sliding at changing speed and at rest.

    protocol editor (table + draggable steps, presets)  │  μ(t): RSF response, GRU prediction, record, fit
                                                        │  GRU − RSF error (paper eq. 15)
                                                        │  fitted parameters with 2σ intervals

μ0 is the selected design's static friction coefficient F(P)/P at a load the user picks, so the
designed interface and its dynamics are one object; a, b, Dc and the law are the user's (or a fit's).
The RSF response (studio.dynamics.simulate) and the GRU's prediction (studio.models.gru_training)
are computed together in a worker (studio.models.gru_training.compare_with_rsf) whenever the protocol,
the parameters or the model change; the newest request wins. A measured record (the CSV of
docs/dynamics.md) is read in a worker and fitted as a job of the shared jobs table (fit_steps: progress,
cancel), then drawn with the fitted RSF curve, the GRU's prediction with the fitted a, b, Dc, and the
fit's 2σ intervals. "Learn from records…" trains a GRU on a folder of records as a job
(train_on_records); closing the window stops it (the jobs table's stop_all).
"""
from __future__ import annotations

import glob
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QSplitter,
                               QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from studio.dynamics import RsfParams, slide_hold_slide, velocity_steps
from studio.gui.plots import DESIGN_PEN, labelled_plot
from studio.gui.protocol_editor import ProtocolEditor
from studio.gui.workers import call_in_thread
from studio.physics import LOAD_GRID_N
from studio.state import Job

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_MODEL = MODELS_DIR / "gru-box.safetensors"  # conditioned on (a, b, Dc): serves any interface
RECOMPUTE_MS = 80  # a burst of edits (a drag, typing) is computed once
RSF_PEN = pg.mkPen("#1a1a1a", width=2)
FIT_PEN = pg.mkPen("#009E73", width=2)
RECORD_BRUSH = pg.mkBrush(120, 120, 120, 160)


@dataclass
class JobProgress:
    """What the jobs table shows of a fit or a training (studio.state.jobs: fraction, iteration, message)."""

    fraction: float
    iteration: int
    elapsed_s: float
    message: str = ""


def fit_job(record, control, **options):
    """studio.dynamics.fit_steps as a job: its progress with an estimated fraction; returns the FitResult."""
    from studio.dynamics.fit import fit_steps

    gen = fit_steps(record, control=control, **options)  # pauses and stops (Cancelled) between iterations
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        # a fit's length is unknown in advance: the bar creeps towards 1 as iterations pass
        yield JobProgress(1.0 - math.exp(-p.iteration / 8.0), p.iteration, p.elapsed_s, f"{p.stage}: cost {p.cost:.3g}")


def learn_job(folder, out, control, **options):
    from studio.models.gru_training import train_on_records

    gen = train_on_records(folder, out, control=control, **options)  # pauses and stops between steps
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        yield JobProgress(p.fraction, p.step, p.elapsed_s, f"epoch {p.epoch}: loss {p.loss:.4g}")


def _spin(low, high, value, step, decimals, tip, suffix=""):
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    if suffix:
        box.setSuffix(suffix)
    return box


class DynamicsWorkspace(QWidget):
    title = "Dynamics"
    computed = Signal()  # the curves of the latest request are drawn
    record_loaded = Signal()
    fitted = Signal()

    def __init__(self, studio):
        super().__init__()
        self.studio = studio
        self.model = self.card = None
        self.model_path: str | None = None
        self.record = self.fit_result = None
        self.fit_job = self.learn_job = None
        self.comparison = None
        self._token = 0
        self._closing = False
        self._stale = True  # the curves do not show the current protocol and parameters yet

        self.a_spin = _spin(0.0, 0.1, 0.005, 0.001, 5, "direct effect a")
        self.b_spin = _spin(0.0, 0.1, 0.015, 0.001, 5, "evolution effect b")
        self.dc_spin = _spin(0.1, 10_000.0, 50.0, 5.0, 2, "critical slip distance Dc", " µm")
        self.law_combo = QComboBox()
        self.law_combo.addItems(["aging", "slip"])
        self.mu0_spin = _spin(0.01, 3.0, 0.5, 0.01, 4, "μ at steady sliding at the protocol's first velocity")
        self.from_design = QCheckBox("μ0 = F(P)/P of the selected design at P =")
        self.from_design.setToolTip("Take μ0 from the selected design's static friction law at this load")
        self.load_spin = _spin(float(LOAD_GRID_N[0]), float(LOAD_GRID_N[-1]), 5.0, 0.5, 3, "normal load P "
                               "(within the selected design's load range)", " N")
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The learned model drawn beside RSF (models/gru-*.safetensors, or one you trained)")
        for path in sorted(glob.glob(str(MODELS_DIR / "gru-*.safetensors"))):
            self.model_combo.addItem(Path(path).stem, path)
        default = self.model_combo.findData(str(DEFAULT_MODEL))
        if default >= 0:
            self.model_combo.setCurrentIndex(default)

        self.editor = ProtocolEditor({
            "paper protocol (random)": self._paper_protocol,
            "velocity steps ×10": lambda: self._scaled(velocity_steps((1.0, 10.0, 1.0, 10.0), slip_per_step_m=8.0)),
            "slide-hold-slide": lambda: self._scaled(slide_hold_slide((2.0, 6.0, 20.0), velocity_m_s=1.0,
                                                                      slide_m=8.0, first_slide_m=8.0)),
        })
        self.editor.message.connect(lambda m: studio.report(m, "warn"))
        self.editor.changed.connect(lambda _p: self.schedule())
        self._preset_seed = 0

        row1 = QHBoxLayout()
        for label, widget in (("a", self.a_spin), ("b", self.b_spin), ("Dc", self.dc_spin), ("law", self.law_combo),
                              ("μ0", self.mu0_spin)):
            row1.addWidget(QLabel(label))
            row1.addWidget(widget)
        row1.addWidget(self.from_design)
        row1.addWidget(self.load_spin)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("model"))
        row2.addWidget(self.model_combo, 1)
        self.buttons = {}
        for text, tip, slot in (("Open protocol…", "Read a protocol CSV", self._open_protocol_dialog),
                                ("Save protocol…", "Write this protocol as CSV", self._save_protocol_dialog),
                                ("Open record…", "A measured record: time, velocity (or displacement), mu",
                                 self._open_record_dialog),
                                ("Fit", "Fit RSF to the record (a job: progress, ■ stops it)", self.fit),
                                ("Learn from records…", "Train a GRU on a folder of record CSVs (a job)",
                                 self._learn_dialog)):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row2.addWidget(button)
            self.buttons[text] = button
        self.buttons["Fit"].setEnabled(False)

        self.mu_widget = pg.PlotWidget()
        self.mu_plot = labelled_plot(self.mu_widget.getPlotItem(), ("time", "s"), ("μ", ""),
                                     "friction coefficient: RSF and the learned model")
        self.mu_plot.addLegend(offset=(-10, 10))
        self.record_curve = self.mu_plot.plot([], [], pen=None, symbol="o", symbolSize=3, symbolPen=None,
                                              symbolBrush=RECORD_BRUSH, name="measured record")
        self.rsf_curve = self.mu_plot.plot([], [], pen=RSF_PEN, name="RSF")
        self.fit_curve = self.mu_plot.plot([], [], pen=FIT_PEN, name="RSF fit of the record")
        self.gru_curve = self.mu_plot.plot([], [], pen=DESIGN_PEN, symbol="o", symbolSize=4,
                                           symbolBrush=DESIGN_PEN.color(), symbolPen=None, name="GRU")
        self.err_widget = pg.PlotWidget()
        self.err_plot = labelled_plot(self.err_widget.getPlotItem(), ("time", "s"), ("GRU − RSF", ""), None)
        self.err_plot.setXLink(self.mu_plot)
        self.err_curve = self.err_plot.plot([], [], pen=DESIGN_PEN, symbol="o", symbolSize=3,
                                            symbolBrush=DESIGN_PEN.color(), symbolPen=None)
        self.err_plot.addLine(y=0, pen=pg.mkPen("#999999"))
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.fit_table = QTableWidget(0, 2)
        self.fit_table.setHorizontalHeaderLabels(["parameter", "value ± 2σ"])
        self.fit_table.horizontalHeader().setStretchLastSection(True)
        self.fit_table.setMaximumHeight(190)
        self.fit_table.hide()

        right = QWidget()
        rbox = QVBoxLayout(right)
        rbox.setContentsMargins(0, 0, 0, 0)
        rbox.addWidget(self.mu_widget, 3)
        rbox.addWidget(self.err_widget, 1)
        rbox.addWidget(self.info)
        rbox.addWidget(self.fit_table)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.editor)
        split.addWidget(right)
        split.setSizes([460, 780])
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(row1)
        box.addLayout(row2)
        box.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RECOMPUTE_MS)
        self._timer.timeout.connect(self._compute)
        for spin in (self.a_spin, self.b_spin, self.dc_spin, self.mu0_spin, self.load_spin):
            spin.valueChanged.connect(lambda _v: self.schedule())
        self.law_combo.currentIndexChanged.connect(lambda _i: self.schedule())
        self.from_design.toggled.connect(lambda _on: self._design_mu0())
        self.load_spin.valueChanged.connect(lambda _v: self._design_mu0())
        self.model_combo.currentIndexChanged.connect(lambda _i: self._load_model())
        studio.state.board.selection_changed.connect(lambda _e: self._design_mu0())
        studio.state.jobs.ended.connect(self._job_ended)
        self.destroyed.connect(lambda: setattr(self, "_closing", True))
        self._load_model()
        self.editor.apply_preset("paper protocol (random)")

    # --- the interface ---------------------------------------------------------------------------
    @property
    def Dc_m(self) -> float:
        return self.dc_spin.value() * 1e-6

    def params(self) -> RsfParams:
        protocol = self.editor.protocol
        return RsfParams(mu0=self.mu0_spin.value(), a=self.a_spin.value(), b=self.b_spin.value(), Dc_m=self.Dc_m,
                         V0_m_s=protocol.start_velocity_m_s)

    def _design_mu0(self) -> None:
        """μ0 = F(P)/P from the selected design's static law (Design.friction_coefficient) when asked."""
        entry = self.studio.state.board.selected
        self.mu0_spin.setEnabled(not self.from_design.isChecked())
        if not self.from_design.isChecked() or entry is None or entry.design.friction_N is None:
            return
        grid = entry.design.load_N  # its load range (docs/load-ranges.md): the load P stays inside it
        self.load_spin.blockSignals(True)
        self.load_spin.setRange(float(grid[0]), float(grid[-1]))
        self.load_spin.blockSignals(False)
        load = self.load_spin.value()
        mu0 = entry.design.friction_coefficient(load)
        self.mu0_spin.setValue(mu0)
        self.mu0_spin.setToolTip(f"{entry.design.name}: F({load:g} N)/{load:g} N = {mu0:.4f}")

    def _paper_protocol(self):
        """A random protocol of the GRU paper's family (30·Dc of slip in 13 ms, 2–5 jumps, one hold)."""
        from studio.data.dynamics import sample_protocol
        from studio.dynamics.protocol import Protocol, Segment

        self._preset_seed += 1
        rng = np.random.default_rng([7, self._preset_seed])
        durations, velocities, jumps = sample_protocol(rng, self.Dc_m, "grid")
        return Protocol(tuple(Segment(d, v) for d, v in zip(durations[: jumps + 1], velocities[: jumps + 1])),
                        name="paper protocol")

    def _scaled(self, protocol):
        """A preset written in units of Dc (slip) and Dc/(1 m/s) (time) scaled to this Dc at 0.3·Dc/200 µm m/s."""
        from studio.dynamics.protocol import Protocol, Segment

        v_ref = 0.3 * self.Dc_m / 2e-4  # the paper protocols' median velocity at this Dc (docs/gru.md)
        t_ref = self.Dc_m / v_ref
        return Protocol(tuple(Segment(s.duration_s * t_ref, s.velocity_m_s * v_ref) for s in protocol.segments),
                        name=protocol.name)

    # --- models ----------------------------------------------------------------------------------
    def _load_model(self) -> None:
        path = self.model_combo.currentData()
        self.model = self.card = None
        self.model_path = path
        if not path:
            self.schedule()
            return
        from studio.models.gru_training import load_gru

        def loaded(result, path=path):
            if path == self.model_path and not self._closing:
                self.model, self.card = result
                self.schedule()
        call_in_thread(load_gru, path, on_result=loaded,
                       on_error=lambda m: self.studio.report(f"Could not load the GRU model: {m}"))

    def add_model(self, path) -> None:
        path = str(Path(path).with_suffix(".safetensors"))
        index = self.model_combo.findData(path)
        if index < 0:
            self.model_combo.addItem(Path(path).stem, path)
            index = self.model_combo.count() - 1
        self.model_combo.setCurrentIndex(index)

    # --- computing the curves (in a worker, newest request wins) -----------------------------------
    def schedule(self) -> None:
        """Recompute the curves soon; while the tab is hidden, only remember that they are stale (the
        simulator compiles on its first call: the studio's start pays for it only when the tab opens)."""
        if self._closing:
            return
        if not self.isVisible():
            self._stale = True
        elif self.editor.protocol is not None:
            self._timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.schedule()

    def _compute(self) -> None:
        from studio.models.gru_training import compare_with_rsf

        if self.editor.protocol is None or self._closing:
            return
        self._token += 1
        token = self._token
        call_in_thread(compare_with_rsf, self.editor.protocol, self.params(), law=self.law_combo.currentText(),
                       model=self.model, card=self.card,
                       on_result=lambda c: self._show(token, c), on_error=self._failed)

    def _failed(self, message: str) -> None:
        if not self._closing:
            self.studio.report(f"Dynamics: {message}")

    def _show(self, token: int, c) -> None:
        if token != self._token or self._closing:
            return  # an older request: a newer one is on its way
        self.comparison = c
        self.rsf_curve.setData(c.dense_times_s, c.dense_mu_rsf)
        if c.mu_gru is None:
            self.gru_curve.setData([], [])
            self.err_curve.setData([], [])
            text = "No learned model loaded." if self.model_path else "No learned model chosen."
        else:
            self.gru_curve.setData(c.times_s, c.mu_gru)
            self.err_curve.setData(c.times_s, c.mu_gru - c.mu_rsf)
            text = (f"GRU error (paper eq. 15, on μ − μ0): {c.error_percent:.2f} %" if c.error_percent is not None
                    else "RSF response is flat: no error to show.")
            if c.notes:
                text += "  Note: " + " ".join(c.notes)
        if self.from_design.isChecked() and self.studio.state.board.selected is not None:
            text = f"μ0 from {self.mu0_spin.toolTip()}.  " + text
        self.info.setText(text)
        self.computed.emit()

    # --- protocol files --------------------------------------------------------------------------
    def _open_protocol_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open protocol", "", "CSV (*.csv *.txt)")
        if path:
            self.open_protocol(path)

    def open_protocol(self, path) -> None:
        from studio.dynamics.files import read_protocol

        call_in_thread(read_protocol, path, on_result=self.editor.set_protocol, on_error=self.studio.report)

    def _save_protocol_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save protocol", "protocol.csv", "CSV (*.csv)")
        if path:
            from studio.dynamics.files import write_protocol

            call_in_thread(write_protocol, path, self.editor.protocol, on_error=self.studio.report)

    # --- a measured record and its fit -----------------------------------------------------------
    def _open_record_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open measured record", "", "CSV (*.csv *.txt)")
        if path:
            self.open_record(path)

    def open_record(self, path) -> None:
        from studio.dynamics.files import read_record

        call_in_thread(read_record, path, on_result=self._record_read, on_error=self.studio.report)

    def _record_read(self, record) -> None:
        if self._closing:
            return
        self.record, self.fit_result = record, None
        self.record_curve.setData(record.times_s, record.mu)
        self.fit_curve.setData([], [])
        self.fit_table.hide()
        self.buttons["Fit"].setEnabled(True)
        self.editor.set_protocol(record.protocol)
        self.record_loaded.emit()

    def fit(self) -> None:
        if self.record is None:
            return
        record, law = self.record, self.law_combo.currentText()
        self.fit_job = self.studio.jobs.start(Job(f"fit {record.source}", "RSF fit"),
                                              lambda control: fit_job(record, control, law=law))

    def _job_ended(self, job) -> None:
        if self._closing:
            return
        if job is self.fit_job:
            if job.state == "finished" and job.result is not None:
                self._show_fit(job.result)
            elif job.state == "failed":
                self.studio.report(job.error)
        elif job is self.learn_job:
            if job.state == "finished" and job.result is not None:
                self.add_model(job.result)
                self.studio.report(f"Learned model written to {job.result}.safetensors", "info")
            elif job.state == "failed":
                self.studio.report(job.error)

    def _show_fit(self, result) -> None:
        self.fit_result = result
        self.fit_curve.setData(self.record.times_s, result.mu_fit)
        rows = [("μ0", "mu0", 1.0, ""), ("a", "a", 1.0, ""), ("b", "b", 1.0, ""), ("Dc", "Dc_m", 1e6, " µm")]
        self.fit_table.setRowCount(len(rows) + 2)
        for i, (label, key, scale, unit) in enumerate(rows):
            sigma = result.two_sigma.get(key)
            text = f"{result.values[key] * scale:.5g}" + (f" ± {sigma * scale:.2g}" if sigma is not None else " (fixed)")
            self.fit_table.setItem(i, 0, QTableWidgetItem(label))
            self.fit_table.setItem(i, 1, QTableWidgetItem(text + unit))
        extra = [("a − b", f"{result.a_minus_b:.5g}" + (f" ± {result.a_minus_b_2sigma:.2g}"
                                                           if result.a_minus_b_2sigma is not None else "")),
                 ("fit", f"r² = {result.r2:.5f}, RMS residual {result.residual_rms:.2g}, "
                         f"{'converged' if result.converged else result.message}")]
        for i, (label, text) in enumerate(extra, start=len(rows)):
            self.fit_table.setItem(i, 0, QTableWidgetItem(label))
            self.fit_table.setItem(i, 1, QTableWidgetItem(text))
        self.fit_table.show()
        v = result.values
        fitted = [(self.a_spin, v["a"]), (self.b_spin, v["b"]), (self.dc_spin, v["Dc_m"] * 1e6)]
        if not self.from_design.isChecked():  # else μ0 stays the design's: the user asked for it
            fitted.append((self.mu0_spin, v["mu0"]))
        for spin, value in fitted:
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.fitted.emit()
        self.schedule()  # the GRU with the fitted a, b, Dc beside the fitted RSF

    # --- learning a measured interface -----------------------------------------------------------
    def _learn_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of record CSVs to learn from")
        if folder:
            self.learn_from_records(folder)

    def learn_from_records(self, folder, *, epochs: int = 50, hidden: int = 64):
        folder = Path(folder)
        out = folder / f"gru-{folder.name}"
        self.learn_job = self.studio.jobs.start(Job(f"learn {folder.name}", "GRU training"),
                                                lambda control: learn_job(folder, out, control, epochs=epochs,
                                                                          hidden=hidden))
        return self.learn_job


__all__ = ["DynamicsWorkspace", "fit_job", "learn_job"]

