"""The jobs table and what runs its jobs: any background job, one row each, shared by every workspace.

`JobRunner.start(job, make_generator)` runs a job's generator in its own thread
(studio.gui.workers.EngineJob) and reports into `StudioState.jobs`; `JobsTable` shows
those jobs and forwards ‖ and ■ to them. A workspace adds a job of its own the same way:

    job = Job("Validate design-3", "BEM")
    studio.jobs.start(job, lambda control: validate(design, control=control))

where the generator yields progress objects with a `fraction` and returns the result
(studio.state.jobs explains the progress fields the table shows).
"""
from __future__ import annotations

from typing import Callable, Iterator

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QProgressBar, QTableWidget,
                               QTableWidgetItem, QToolButton, QWidget)

from studio.jobs import JobControl
from studio.gui.help import SMAPE_TIP
from studio.gui.workers import EngineJob
from studio.state import Job, Jobs

COLUMNS = ("job", "kind", "progress", "iteration", "best sMAPE", "evals/s", "elapsed", "")
REDRAW_MS = 100  # running jobs' rows and live cards are redrawn at most 10 times a second


class JobRunner(QObject):
    """Runs each job's generator in a thread; progress and the outcome go to the Jobs state."""

    def __init__(self, jobs: Jobs, parent=None):
        super().__init__(parent)
        self.jobs = jobs
        self._threads: dict[Job, EngineJob] = {}
        # Engines may report 10–100 times a second: the state records each report and this
        # timer publishes them 10 times a second, so the event loop never queues up repaints.
        self._redraw = QTimer(self)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(lambda: self.jobs.flush() or self._redraw.stop())

    def start(self, job: Job, make_generator: Callable[[JobControl], Iterator]) -> Job:
        thread = EngineJob(make_generator, name=job.name, control=job.control)
        thread.progress.connect(lambda p: self.jobs.report(job, p))
        thread.finished.connect(lambda result: self.jobs.end(job, "finished", result=result))
        thread.failed.connect(lambda message: self.jobs.end(job, "failed", error=message))
        thread.cancelled.connect(lambda: self.jobs.end(job, "cancelled"))
        self._threads[job] = thread
        self.jobs.add(job)
        thread.start()
        self._redraw.start()
        return job

    def is_running(self, job: Job) -> bool:
        """Whether the job's thread is still alive (it outlives the job's end by a moment)."""
        thread = self._threads.get(job)
        return thread is not None and thread.is_thread_running()

    def stop_all(self, timeout_ms: int = 15_000) -> bool:
        """Cancel every job and wait for their threads; True when all have ended."""
        self._redraw.stop()
        self.jobs.cancel_all()
        return all(thread.wait(timeout_ms) for thread in self._threads.values())


class JobsTable(QTableWidget):
    """job │ kind │ progress │ iteration │ best sMAPE │ evals/s │ elapsed │ ‖ ■ — one row per job."""

    def __init__(self, jobs: Jobs, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.jobs = jobs
        self.setHorizontalHeaderLabels(COLUMNS)
        self.horizontalHeaderItem(COLUMNS.index("best sMAPE")).setToolTip(SMAPE_TIP)
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        header.setSectionResizeMode(7, QHeaderView.Fixed)
        header.setMinimumSectionSize(40)
        self.rows: list[Job] = []
        self.setToolTip("Background jobs. ‖ pauses or resumes, ■ stops (Esc stops the selected job).")
        jobs.added.connect(self._add)
        jobs.changed.connect(self.refresh)
        jobs.ended.connect(self.refresh)
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        self._clock.start()

    def _add(self, job: Job) -> None:
        row = self.rowCount()
        self.insertRow(row)
        self.rows.append(job)
        for col in (0, 1, 3, 4, 5, 6):
            self.setItem(row, col, QTableWidgetItem(""))
        self.item(row, COLUMNS.index("best sMAPE")).setToolTip(SMAPE_TIP)
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setTextVisible(True)
        self.setCellWidget(row, 2, bar)
        buttons = QWidget()
        lay = QHBoxLayout(buttons)
        lay.setContentsMargins(0, 0, 0, 0)
        for text, tip, slot in (("‖", "Pause / resume this job", self.jobs.toggle_pause),
                                ("■", "Stop this job (a design job keeps its best design so far)", self.jobs.cancel)):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, s=slot: s(job))
            lay.addWidget(button)
        self.setCellWidget(row, 7, buttons)
        self.setColumnWidth(7, 72)
        self.refresh(job)
        self.selectRow(row)

    def selected_job(self) -> Job | None:
        """The selected row's job, else the newest active one."""
        rows = self.selectionModel().selectedRows()
        if rows:
            return self.rows[rows[0].row()]
        active = [j for j in self.rows if j.active]
        return active[-1] if active else None

    def refresh(self, job: Job) -> None:
        if job not in self.rows:
            return
        row = self.rows.index(job)
        p, state = job.progress, job.state
        self.item(row, 0).setText(job.name)
        self.item(row, 1).setText(job.kind)
        bar: QProgressBar = self.cellWidget(row, 2)
        frac = 1.0 if state == "finished" else float(getattr(p, "fraction", 0.0) or 0.0)
        bar.setValue(int(1000 * max(0.0, min(1.0, frac))))
        if state == "running" and p is None:
            bar.setFormat("starting…")  # a fresh worker process imports and compiles first (seconds)
        else:
            bar.setFormat(f"{state} %p%" if state != "running" else "%p%")
        bar.setToolTip(job.error or str(getattr(p, "message", "") or ""))
        iteration = getattr(p, "iteration", None)
        self.item(row, 3).setText("" if iteration is None else str(iteration))
        best = job.best.error_percent if job.best is not None else getattr(p, "best_error", None)
        self.item(row, 4).setText("" if best is None else f"{best:.2f} %")
        evaluations, elapsed = getattr(p, "evaluations", None), getattr(p, "elapsed_s", 0.0) or 0.0
        self.item(row, 5).setText(f"{evaluations / elapsed:.0f}" if evaluations is not None and elapsed > 0 else "")
        self.item(row, 6).setText(f"{job.elapsed_s():.1f} s")
        for button in self.cellWidget(row, 7).findChildren(QToolButton):
            button.setEnabled(job.active)
            if button.text() in ("‖", "▶"):
                button.setText("▶" if state == "paused" else "‖")

    def _tick(self) -> None:
        for row, job in enumerate(self.rows):
            if job.active:
                self.item(row, 6).setText(f"{job.elapsed_s():.1f} s")
