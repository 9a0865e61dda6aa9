"""Compare designs: two or three side by side, as an engineer chooses what to mould (a non-modal dialog).

    ┌ Compare designs ────────────────────────────────────────────────────────────────┐
    │ [design A ▾]              [design B ▾]              [design C ▾ / none]         │
    │ law over the target       law over the target       law over the target         │
    │ residual per load         residual per load         residual per load           │
    │ height pdf │ radius pdf   height pdf │ radius pdf   height pdf │ radius pdf       │
    │ layout (discs at P_max)   layout                    layout                      │
    │ table: N, sMAPE, E*, τ0, B, largest d/R, Hertz valid, footprint — one column each │
    └─────────────────────────────────────────────────────────────────────────────────┘

The choice comes from the board (pinned designs first, then the others) and from N: auto's
best candidates; it is kept in `state.compare` (studio.state.choices.Comparison). Everything
drawn comes from studio.design.compare.DesignFacts, made by `compare_job` in the shared jobs
table (the details a design lacks, compute_details, take seconds on a first call); the axes of
each kind of plot are linked across the columns so the designs are read on one scale. Closing
the dialog stops its job; closing the window stops every job.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QGridLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

from studio.design.compare import MAX_COMPARED, DesignFacts, compare_job
from studio.design.core import Design
from studio.design.details import compute_details
from studio.gui.plots import COMPONENT_COLORS, DESIGN_PEN, TARGET_PEN, labelled_plot
from studio.gui.workspaces import Studio
from studio.physics.theta import N_COMPONENTS
from studio.state import Job

ROWS = ("N", "sMAPE %", "E* MPa", "τ0 MPa", "B", "largest d/R", "Hertz valid", "footprint mm")
NONE = "(none)"


class DesignColumn:
    """The plots of one compared design (items updated with setData, never re-created)."""

    def __init__(self):
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumWidth(300)
        self.law = labelled_plot(self.view.addPlot(row=0, col=0, colspan=2), ("P", "N"), ("F", "N"),
                                 "Law over the target")
        self.resid = labelled_plot(self.view.addPlot(row=1, col=0, colspan=2), ("P", "N"), ("Residual", "%"))
        self.h = labelled_plot(self.view.addPlot(row=2, col=0), ("h", "mm"), ("pdf", "1/mm"), "Heights")
        self.r = labelled_plot(self.view.addPlot(row=2, col=1), ("R", "mm"), ("pdf", "1/mm"), "Radii")
        self.layout = labelled_plot(self.view.addPlot(row=3, col=0, colspan=2), ("x", "mm"), ("y", "mm"),
                                    "Layout: contact discs at the largest load")
        self.layout.setAspectLocked(True)
        lay = self.view.ci.layout
        for row, stretch in enumerate((3, 2, 2, 3)):
            lay.setRowStretchFactor(row, stretch)
        self.target_curve = self.law.plot(pen=TARGET_PEN)
        self.law_curve = self.law.plot(pen=DESIGN_PEN)
        self.resid.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen("#999")))
        self.resid_curve = self.resid.plot(pen=DESIGN_PEN)
        self.h_curves = [self.h.plot(pen=pg.mkPen(c, width=1.5)) for c in COMPONENT_COLORS]
        self.r_curves = [self.r.plot(pen=pg.mkPen(c, width=1.5)) for c in COMPONENT_COLORS]
        self.discs = pg.ScatterPlotItem(pxMode=False, pen=pg.mkPen("#333", width=0.5))
        self.centres = pg.ScatterPlotItem(size=3, brush=pg.mkBrush("#555"), pen=pg.mkPen(None))
        self.layout.addItem(self.discs)
        self.layout.addItem(self.centres)

    def plots(self):
        return (self.law, self.resid, self.h, self.r, self.layout)

    def show(self, facts: DesignFacts | None, target) -> None:
        if facts is None:
            for item in (self.target_curve, self.law_curve, self.resid_curve, self.discs, self.centres,
                         *self.h_curves, *self.r_curves):
                item.setData([], [])
            self.law.setTitle("")
            return
        self.law.setTitle(f"{facts.name} · N = {facts.N}", size="10pt")
        if target is not None:
            self.target_curve.setData(target.load_N, target.friction_N)
        self.law_curve.setData(facts.load_N, facts.friction_N)
        self.resid_curve.setData(facts.load_N, facts.residual_percent, connect="finite")
        for k in range(N_COMPONENTS):
            self.h_curves[k].setData(facts.height_values_mm, facts.height_pdf[k])
            self.r_curves[k].setData(facts.radius_values_mm, facts.radius_pdf[k])
        brushes = [pg.mkBrush(COMPONENT_COLORS[int(c) % N_COMPONENTS]) for c in facts.component]
        touching = facts.contact_radius_mm > 0
        self.centres.setData(facts.x_mm, facts.y_mm)
        self.discs.setData(facts.x_mm[touching], facts.y_mm[touching], size=2 * facts.contact_radius_mm[touching],
                           brush=[b for b, t in zip(brushes, touching) if t])


class CompareDialog(QDialog):
    """Two or three designs side by side (state.compare), their facts computed in a job."""

    def __init__(self, studio: Studio, details_fn=compute_details, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Compare designs")
        self.setModal(False)
        self.studio, self.state, self.details_fn = studio, studio.state, details_fn
        self.job: Job | None = None
        self._asked: dict[Job, list[Design]] = {}  # the designs each compare job was started for
        self.closing = False
        self.extra: list[Design] = []  # designs offered beside the board's (N: auto's best candidates)

        self.info = QLabel("Choose two or three designs: pinned cards come first.")
        self.info.setWordWrap(True)
        self.choosers = [QComboBox() for _ in range(MAX_COMPARED)]
        self.columns = [DesignColumn() for _ in range(MAX_COMPARED)]
        self.table = QTableWidget(len(ROWS), MAX_COMPARED)
        self.table.setVerticalHeaderLabels(ROWS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.resizeRowsToContents()
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + self.table.verticalHeader().length() + 4)
        self.table.setToolTip("sMAPE: functional error against the target, lower is better. largest d/R: the "
                              "deepest indentation over its tip radius at the largest load; above 0.25 "
                              "small-strain Hertz theory (and so the predicted law) is less reliable.")
        grid = QGridLayout()
        for i, (chooser, column) in enumerate(zip(self.choosers, self.columns)):
            chooser.setToolTip("A design of the board (pinned first) or an N: auto candidate")
            chooser.currentIndexChanged.connect(self._chosen)
            grid.addWidget(chooser, 0, i)
            grid.addWidget(column.view, 1, i)
        grid.setRowStretch(1, 1)
        box = QVBoxLayout(self)
        box.addWidget(self.info)
        box.addLayout(grid, 1)
        box.addWidget(self.table)
        self.resize(1300, 900)

        self.state.compare.changed.connect(lambda _c: self.show_facts())
        self.state.board.changed.connect(lambda _b: self._fill_choosers())
        self.state.jobs.ended.connect(self._job_ended)
        self.state.target.changed.connect(lambda _t: self.compare(self._current(self.state.compare.designs)))

    # --- choosing ------------------------------------------------------------------------------
    def offered(self) -> list[Design]:
        """The designs one may compare: the board's (pinned first, then best first), then the extra ones and
        any compared design no longer on the board (a candidate replaced since)."""
        board = self.state.board
        entries = sorted((e for e in board.entries if not e.live), key=lambda e: not e.pinned)
        designs = [e.design for e in entries]
        for d in self.extra + self.state.compare.designs:
            if all(d is not o for o in designs):
                designs.append(d)
        return designs

    def default_choice(self) -> list[Design]:
        """Pinned designs; else the selected one and the next best."""
        pinned = self.state.board.pinned()
        if len(pinned) >= 2:
            return pinned[:MAX_COMPARED]
        first = [self.state.board.selected.design] if self.state.board.selected is not None else []
        rest = [d for d in self.offered() if all(d is not f for f in first)]
        return (first + rest)[:2]

    def compare(self, designs: list[Design], extra: list[Design] | None = None) -> Job | None:
        """Show these designs side by side (the first MAX_COMPARED) and compute their facts."""
        if extra is not None:
            self.extra = list(extra)
        self.state.compare.choose(designs)
        self._fill_choosers()
        return self._start()

    def _current(self, designs: list[Design]) -> list[Design]:
        """The same designs as the board now holds them (a new load range replaces a card's design by its
        scaled copy, under the same name)."""
        def same(a: Design, b: Design) -> bool:  # names recur across candidate generations: θ and seed decide
            return a.name == b.name and a.seed == b.seed and a.N == b.N and bool((a.theta == b.theta).all())
        board = [e.design for e in self.state.board.entries if not e.live]
        return [next((b for b in board if same(b, d)), d) for d in designs]

    def _fill_choosers(self) -> None:
        offered, chosen = self.offered(), self.state.compare.designs
        for i, chooser in enumerate(self.choosers):
            chooser.blockSignals(True)
            chooser.clear()
            chooser.addItem(NONE, None)
            for d in offered:
                err = "–" if d.error_percent is None else f"{d.error_percent:.2f} %"
                chooser.addItem(f"{d.name} · N = {d.N} · sMAPE {err}", d)
            index = next((k + 1 for k, d in enumerate(offered) if i < len(chosen) and d is chosen[i]), 0)
            chooser.setCurrentIndex(index)
            chooser.blockSignals(False)

    def _chosen(self, _index: int) -> None:
        designs = [c.currentData() for c in self.choosers]
        self.state.compare.choose([d for d in designs if d is not None])
        self._fill_choosers()  # duplicates dropped, the columns packed left
        self._start()

    # --- the job ---------------------------------------------------------------------------------
    def _start(self) -> Job | None:
        designs, target = list(self.state.compare.designs), self.state.target.target
        self.stop_job()
        if not designs or self.closing:
            return None
        details = []
        for d in designs:
            entry = self.state.board.entry_of(d)
            details.append(None if entry is None else entry.details)
        fn = self.details_fn
        self.info.setText(f"Comparing {', '.join(d.name for d in designs)} …")
        self.job = self.studio.jobs.start(Job("Compare " + ", ".join(d.name for d in designs), "compare"),
                                          lambda control: compare_job(designs, target, details=details,
                                                                      details_fn=fn, control=control))
        self._asked[self.job] = designs
        return self.job

    def stop_job(self) -> None:
        if self.job is not None and self.job.active:
            self.state.jobs.cancel(self.job)

    def _job_ended(self, job: Job) -> None:
        designs = self._asked.pop(job, None)
        if job is not self.job or self.closing:
            return
        if job.state == "finished":
            self.state.compare.set_facts(designs, job.result)
        elif job.state == "failed":
            self.info.setText(f"Could not compare: {job.error}")

    # --- showing -------------------------------------------------------------------------------
    def show_facts(self) -> None:
        facts, target = self.state.compare.facts, self.state.target.target
        for i, column in enumerate(self.columns):
            column.show(facts[i] if i < len(facts) else None, target)
        self.table.setHorizontalHeaderLabels([f.name for f in facts] + [""] * (MAX_COMPARED - len(facts)))
        for col in range(MAX_COMPARED):
            row = facts[col].table_row() if col < len(facts) else {}
            for r, name in enumerate(ROWS):
                value = row.get(name, "")
                text = ("yes" if value else "no ⚠") if isinstance(value, bool) else \
                    ("–" if value is None else str(value))
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignCenter)
                self.table.setItem(r, col, item)
        if facts:
            best = min((f for f in facts if f.smape_percent is not None), key=lambda f: f.smape_percent,
                       default=None)
            smallest = min(facts, key=lambda f: f.N)
            self.info.setText(f"{len(facts)} designs on one scale per plot. Lowest sMAPE: "
                              f"{best.name if best else '–'}; fewest asperities: {smallest.name} (N = {smallest.N})."
                              + ("" if all(f.hertz_valid for f in facts) else
                                 " ⚠ marks a design outside small-strain Hertz validity (largest d/R > 0.25)."))
        self._one_scale(len(facts))

    def _one_scale(self, shown: int) -> None:
        """Each kind of plot on one range across the columns: the union of what they show (the layouts
        square, so their sizes compare)."""
        columns = self.columns[:shown]
        for kind in range(len(DesignColumn.plots(self.columns[0]))):
            plots = [c.plots()[kind] for c in columns]
            bounds = [p.vb.childrenBounds() for p in plots]
            xs = [b[0] for b in bounds if b[0] is not None]
            ys = [b[1] for b in bounds if b[1] is not None]
            if not xs or not ys:
                continue
            x = (min(v[0] for v in xs), max(v[1] for v in xs))
            y = (min(v[0] for v in ys), max(v[1] for v in ys))
            if plots[0] is columns[0].layout:  # a square around every column's caps
                half = max(x[1] - x[0], y[1] - y[0]) / 2
                cx, cy = sum(x) / 2, sum(y) / 2
                x, y = (cx - half, cx + half), (cy - half, cy + half)
            for p in plots:
                p.setRange(xRange=x, yRange=y, padding=0.04)

    # --- closing -------------------------------------------------------------------------------
    def closeEvent(self, ev) -> None:
        self.closing = True
        self.stop_job()
        super().closeEvent(ev)


__all__ = ["CompareDialog", "DesignColumn", "ROWS"]
