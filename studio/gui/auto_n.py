"""N: auto — the candidates at several asperity counts, and the N to choose (a non-modal dialog).

    ┌ N: auto ─────────────────────────────────────────────────────────────┐
    │ what is being tried / the two proposals and the rule                 │
    │ [progress                                       ]                    │
    │  best sMAPE                                                          │
    │   │  •                                                               │
    │   │     •   ◆ smallest good enough   • ★ best   •                    │
    │   └──────────────────────────────────── N (log)                      │
    │ [Use N = 45 (smallest good)] [Use N = 128 (best)] [Compare them] [Stop]│
    └──────────────────────────────────────────────────────────────────────┘

The work is studio.design.auto_n.auto_n, a job of the shared jobs table (progress, ‖ and ■), run in a
worker process of the refinement pool (its first run compiles every asperity bucket; stand-in engines
in tests run in the job's thread); its result goes to `state.auto_n` (studio.state.choices.AutoNState)
and this dialog draws it. Clicking a point, or a button, sets the target's N (one undo step); the
candidates follow. Closing the dialog stops its job; closing the window stops every job.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from studio.design.auto_n import RULE_TEXT, AutoN, auto_n
from studio.gui.plots import DESIGN_COLOR, labelled_plot

INVALID_LABEL = "best design not small-strain valid (d/R > 0.25)"
from studio.gui.workspaces import Studio
from studio.state import Job

AUTO_N_BUDGET_S = 2.0  # per count: the candidates' own budget (their ranking is not cut short by it)


class AutoNDialog(QDialog):
    """Proposes N for the current target: error against N, the best and the smallest good-enough marked."""

    compareRequested = Signal(list)  # designs (the best candidates at the two proposed counts)

    def __init__(self, studio: Studio, engines, parent=None):
        super().__init__(parent)
        self.setWindowTitle("N: auto — choose the asperity count")
        self.setModal(False)
        self.studio, self.engines = studio, engines  # engines: studio.gui.engines.DesignEngines
        self.state = studio.state
        self.job: Job | None = None
        self.closing = False

        self.info = QLabel()
        self.info.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.view = pg.PlotWidget()
        self.plot = labelled_plot(self.view.getPlotItem(), ("Asperity count N", ""), ("Best sMAPE", "%"),
                                  "Best candidate's error at each N (click a point to choose it)")
        self.plot.setLogMode(x=True, y=False)
        self.plot.addLegend(offset=(-8, -8), labelTextSize="9pt")  # bottom right: the errors sit above it
        # PlotDataItems (not bare scatter items): they follow the log axis
        self.points = self.plot.plot(pen=pg.mkPen("#777", width=1), symbol="o", symbolSize=11,
                                     symbolBrush="#0072B2", symbolPen="w", name="best of K candidates at N")
        self.points.sigPointsClicked.connect(self._clicked)
        self.limit_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#009E73", width=1, style=pg.QtCore.Qt.DashLine),
                                          label="good enough", labelOpts={"position": 0.93, "color": "#009E73", "anchors": [(1, 1), (1, 1)]})
        self.limit_line.hide()
        self.plot.addItem(self.limit_line)
        self.good_mark = self.plot.plot(pen=None, symbol="d", symbolSize=20, symbolBrush="#009E73", symbolPen="k",
                                        name="smallest good-enough N")
        self.best_mark = self.plot.plot(pen=None, symbol="star", symbolSize=24, symbolBrush=DESIGN_COLOR,
                                        symbolPen="k", name="best N")
        self.invalid_mark = self.plot.plot(pen=None, symbol="x", symbolSize=16, symbolBrush="#D55E00",
                                           symbolPen=pg.mkPen("#D55E00", width=2))  # in the legend when shown
        self.chosen_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#444", width=1, style=pg.QtCore.Qt.DotLine))
        self.plot.addItem(self.chosen_line)

        self.use_good = QPushButton("Use the smallest good N")
        self.use_best = QPushButton("Use the best N")
        self.compare = QPushButton("Compare them…")
        self.compare.setToolTip("Their best candidates side by side (law, residual, mixture, layout, material)")
        self.stop = QPushButton("Stop")
        self.again = QPushButton("Run again")
        self.use_good.clicked.connect(lambda: self.apply(self.result.smallest_good_N))
        self.use_best.clicked.connect(lambda: self.apply(self.result.best_N))
        self.compare.clicked.connect(self._compare)
        self.stop.clicked.connect(self.stop_job)
        self.again.clicked.connect(self.start)
        buttons = QHBoxLayout()
        for b in (self.use_good, self.use_best, self.compare):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.again)
        buttons.addWidget(self.stop)
        box = QVBoxLayout(self)
        box.addWidget(self.info)
        box.addWidget(self.progress)
        box.addWidget(self.view, 1)
        box.addLayout(buttons)
        self.resize(760, 520)

        self.state.jobs.changed.connect(self._job_changed)
        self.state.jobs.ended.connect(self._job_ended)
        self.state.auto_n.changed.connect(lambda _s: self.show_result())
        self.state.target.changed.connect(self._target_changed)
        self.show_result()

    @property
    def result(self) -> AutoN | None:
        return self.state.auto_n.result if self.state.auto_n.current else None

    # --- the job -----------------------------------------------------------------------------
    def start(self) -> Job | None:
        """Candidates at every count for the current target (the current job, if any, is stopped first)."""
        settings = self.state.settings
        target = self.state.target.target
        if target is not None:  # the user's material and validity switch hold at every count, as for the candidates
            target = self.state.material.constrain(target)
        if target is None:
            self.studio.report("Set a target (draw, preset or CSV) before N: auto.", "warn")
            return None
        self.stop_job()
        spec, models = self.engines.get("candidates"), dict(self.state.models)
        options = dict(seed=settings.candidate_seed, count=settings.K, time_budget_s=AUTO_N_BUDGET_S)
        pool = self.engines.pool  # the real engines: nine compiles on a first run, off the GUI process

        def make(control):
            if pool is not None:  # the worker loads the shipped models itself
                return pool.run_job(auto_n, (target,), dict(options, engine="candidates"), control=control)
            return auto_n(target, engine=spec, control=control, **options, **models)
        self.job = self.studio.jobs.start(Job("N: auto", "N: auto", target=target), make)
        self._show_buttons()
        self.progress.setValue(0)
        self.info.setText(f"Proposing {settings.K} candidates at each asperity count for the target "
                          f"({target.source}); {RULE_TEXT}.")
        return self.job

    def stop_job(self) -> None:
        if self.job is not None and self.job.active:
            self.state.jobs.cancel(self.job)

    def _job_changed(self, job: Job) -> None:
        if job is not self.job or job.progress is None:
            return
        p = job.progress
        self.progress.setValue(int(1000 * p.fraction))
        done = getattr(p, "done", [])
        if done:  # the counts finished so far, drawn as they arrive
            n, e = np.array(done, dtype=float).T
            self.points.setData(n, e)
        self.info.setText(f"{p.message} …")

    def _job_ended(self, job: Job) -> None:
        if job is not self.job:
            return
        self.progress.setValue(1000 if job.state == "finished" else self.progress.value())
        if job.state == "finished" and isinstance(job.result, AutoN):
            self.state.auto_n.set_result(job.result, job.target)
        elif job.state == "cancelled":
            self.info.setText("Stopped. Run again to propose an N.")
        self._show_buttons()

    # --- showing and choosing ----------------------------------------------------------------
    def show_result(self) -> None:
        r = self.result
        self._show_buttons()
        if r is None:
            for item in (self.points, self.best_mark, self.good_mark, self.invalid_mark):
                item.setData([], [])
            self.limit_line.hide()
            if self.state.auto_n.result is not None and not (self.job is not None and self.job.active):
                self.info.setText("The target law changed since N: auto ran: Run again to propose an N for it.")
            return
        n, e = np.array(r.counts, dtype=float), np.array(r.errors_percent)
        self.points.setData(n, e)
        self.plot.getAxis("bottom").setTicks([[(np.log10(v), str(int(v))) for v in n]])  # the counts tried
        self.best_mark.setData([r.best_N], [r.best_row.error_percent])
        invalid = np.array([not row.best.hertz_valid for row in r.rows], dtype=bool)
        self.invalid_mark.setData(n[invalid], e[invalid])
        legend = self.plot.legend
        legend.removeItem(self.invalid_mark)
        if invalid.any():
            legend.addItem(self.invalid_mark, INVALID_LABEL)
        self.good_mark.setData([r.smallest_good_N], [r.smallest_good_row.error_percent])
        self.limit_line.show()  # first: a hidden line's label does not take new text
        self.limit_line.setValue(r.limit_percent)
        self.limit_line.label.setFormat(f"good enough ≤ {r.limit_percent:.2f} %")
        self.chosen_line.setValue(np.log10(self.state.target.N))
        self.plot.setYRange(0, max(e.max(), r.limit_percent) * 1.1, padding=0)
        self.use_good.setText(f"Use N = {r.smallest_good_N} (smallest good enough)")
        self.use_best.setText(f"Use N = {r.best_N} (best)")
        self.info.setText(
            f"<b>Best N = {r.best_N}</b> (sMAPE {r.best_row.error_percent:.2f} %) · <b>smallest good-enough "
            f"N = {r.smallest_good_N}</b> (sMAPE {r.smallest_good_row.error_percent:.2f} %, limit "
            f"{r.limit_percent:.2f} %). The {RULE_TEXT}. Fewer asperities are quicker to mould and check. "
            f"Each point is the best of {len(r.rows[0].designs)} candidates, so neighbours a few tenths apart are "
            f"within the search's scatter.{self._validity_words(r, invalid)} Now designing for "
            f"N = {self.state.target.N}.")

    @staticmethod
    def _validity_words(r: AutoN, invalid: np.ndarray) -> str:
        """What the × marks mean for the proposal: counts whose best design leaves small strain."""
        if not invalid.any():
            return ""
        counts = ", ".join(str(c) for c, bad in zip(r.counts, invalid) if bad)
        if r.require_valid and not invalid.all():
            return (f" At N = {counts} (×) no candidate was small-strain valid, so those counts are not "
                    "proposed.")
        return f" At N = {counts} (×) the best candidate is not small-strain valid (largest d/R > 0.25)."

    def apply(self, N: int) -> None:
        """Design for N from now on (one undo step); the candidates follow."""
        self.state.auto_n.apply(N)  # the N field shows it; the candidates follow

    def _clicked(self, _item, points, _ev=None) -> None:
        """A click on a count's point chooses that N."""
        if len(points) and self.result is not None:
            self.apply(self.result.counts[points[0].index()])

    def _compare(self) -> None:
        r = self.result
        if r is not None:
            rows = [r.smallest_good_row] + ([r.best_row] if r.best_N != r.smallest_good_N else [])
            self.compareRequested.emit([row.best for row in rows])

    def _target_changed(self, _target) -> None:
        if self.result is not None:
            self.chosen_line.setValue(np.log10(self.state.target.N))
            self.info.setText(self.info.text().rsplit(" Now designing for", 1)[0]
                              + f" Now designing for N = {self.state.target.N}.")
        else:
            self.show_result()

    def _show_buttons(self) -> None:
        running = self.job is not None and self.job.active
        has = self.result is not None
        for b in (self.use_good, self.use_best, self.compare):
            b.setEnabled(has)
        self.stop.setEnabled(running)
        self.again.setEnabled(not running)

    # --- closing -----------------------------------------------------------------------------
    def closeEvent(self, ev) -> None:
        self.closing = True
        self.stop_job()
        super().closeEvent(ev)
