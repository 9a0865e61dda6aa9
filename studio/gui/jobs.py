"""Refinement jobs: one EngineJob each, a live gallery card each, a row in the jobs table.

`RefinementJob` ties an engine run to what the user sees: progress updates the row and
the live card; a finished job turns its live card into a normal result card.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QProgressBar, QTableWidget,
                               QTableWidgetItem, QToolButton, QWidget)

from studio.design.core import Design, Progress
from studio.gui.workers import EngineJob

COLUMNS = ("design", "method", "progress", "iteration", "best sMAPE", "evals/s", "elapsed", "")


class RefinementJob(QObject):
    """A refinement of one design: the engine job plus its latest progress (GUI thread only)."""

    changed = Signal(object)           # self, on every state change (progress is polled, see JobsTable)
    result = Signal(object, object)    # self, list[Design]

    def __init__(self, name: str, method: str, engine_job: EngineJob, parent=None):
        super().__init__(parent)
        self.name = name
        self.method = method
        self.job = engine_job
        self.last: Progress | None = None
        self.best: Design | None = None
        self.card = None  # the live gallery card, set by the window
        self.started_at = time.perf_counter()
        self.ended_at: float | None = None
        self.dirty = False
        engine_job.progress.connect(self._progress)
        engine_job.finished.connect(self._finished)
        engine_job.failed.connect(lambda _m: self._ended())
        engine_job.cancelled.connect(self._ended)

    @property
    def state(self) -> str:
        return self.job.state

    def elapsed_s(self) -> float:
        return (self.ended_at or time.perf_counter()) - self.started_at

    def _progress(self, p: Progress) -> None:
        # No signal per progress: engines may report 10–100 times a second; the window redraws
        # dirty jobs on a 10 Hz timer instead, so the event loop never queues up repaints.
        self.last = p
        if p.best is not None:
            self.best = p.best
        self.dirty = True

    def _finished(self, designs) -> None:
        if designs:
            self.best = designs[0]
        self._ended()
        self.result.emit(self, designs)

    def _ended(self) -> None:
        self.ended_at = time.perf_counter()
        self.changed.emit(self)


class JobsTable(QTableWidget):
    """design │ method │ progress │ iter │ best sMAPE │ evals/s │ elapsed │ ‖ ■"""

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        header.setSectionResizeMode(7, QHeaderView.Fixed)
        header.setMinimumSectionSize(40)
        self.rows: list[RefinementJob] = []
        self.setToolTip("Refinement jobs. ‖ pauses or resumes, ■ stops (Esc stops the selected job).")
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        self._clock.start()

    def add_job(self, job: RefinementJob) -> None:
        row = self.rowCount()
        self.insertRow(row)
        self.rows.append(job)
        for col in (0, 1, 3, 4, 5, 6):
            self.setItem(row, col, QTableWidgetItem(""))
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setTextVisible(True)
        self.setCellWidget(row, 2, bar)
        buttons = QWidget()
        lay = QHBoxLayout(buttons)
        lay.setContentsMargins(0, 0, 0, 0)
        pause = QToolButton()
        pause.setText("‖")
        pause.setToolTip("Pause / resume this job")
        stop = QToolButton()
        stop.setText("■")
        stop.setToolTip("Stop this job (its best design so far is kept)")
        pause.clicked.connect(lambda: self.toggle_pause(job))
        stop.clicked.connect(job.job.cancel)
        lay.addWidget(pause)
        lay.addWidget(stop)
        self.setCellWidget(row, 7, buttons)
        self.setColumnWidth(7, 72)
        self.refresh(job)
        self.selectRow(row)

    def toggle_pause(self, job: RefinementJob) -> None:
        if job.state == "paused":
            job.job.resume()
        else:
            job.job.pause()
        self.refresh(job)

    def selected_job(self) -> RefinementJob | None:
        rows = self.selectionModel().selectedRows()
        if rows:
            return self.rows[rows[0].row()]
        active = [j for j in self.rows if j.job.active]
        return active[-1] if active else None

    def refresh(self, job: RefinementJob) -> None:
        if job not in self.rows:
            return
        row = self.rows.index(job)
        p = job.last
        self.item(row, 0).setText(job.name)
        self.item(row, 1).setText(job.method)
        bar: QProgressBar = self.cellWidget(row, 2)
        state = job.state
        frac = 1.0 if state == "finished" else (p.fraction if p else 0.0)
        bar.setValue(int(1000 * max(0.0, min(1.0, frac))))
        if state == "running" and p is None:
            bar.setFormat("starting…")  # a fresh worker process imports and compiles first (seconds)
        else:
            bar.setFormat(f"{state} %p%" if state != "running" else "%p%")
        self.item(row, 3).setText("" if p is None else str(p.iteration))
        best = job.best.error_percent if job.best is not None else (p.best_error if p else None)
        self.item(row, 4).setText("" if best is None else f"{best:.2f} %")
        rate = p.evaluations / p.elapsed_s if p and p.elapsed_s > 0 else 0.0
        self.item(row, 5).setText(f"{rate:.0f}" if p else "")
        self.item(row, 6).setText(f"{job.elapsed_s():.1f} s")
        buttons = self.cellWidget(row, 7)
        for b in buttons.findChildren(QToolButton):
            b.setEnabled(job.job.active)
            if b.text() in ("‖", "▶"):
                b.setText("▶" if state == "paused" else "‖")

    def _tick(self) -> None:
        for job in self.rows:
            if job.job.active:
                row = self.rows.index(job)
                self.item(row, 6).setText(f"{job.elapsed_s():.1f} s")
