"""Background work for the GUI: engine generators and one-shot calls run off the GUI thread.

The pattern is superqt's GeneratorWorker, written small: a job (studio.jobs; a design engine
yields `Progress` and returns its designs) is driven by `studio.jobs.drive` in its own QThread;
`EngineJob` turns every yield into a Qt signal (delivered on the GUI thread), and the job stops
between yields when its `JobControl` is paused or cancelled. `call_in_thread` runs a plain
function on the global thread pool and hands the result (or the error) back as a signal.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from typing import Any, Callable, Iterator

from PySide6.QtCore import QObject, QRunnable, Qt, QThread, QThreadPool, Signal, Slot

from studio.jobs import Cancelled, JobControl, drive

log = logging.getLogger("studio.gui")

BACKGROUND_NICE = 5  # Linux nice value of every thread but the GUI thread (job processes run at 15)
GUI_SWITCH_INTERVAL_S = 0.001  # the GIL hand-over interval (Python's default is 5 ms)


def favour_gui_thread() -> None:
    """Keep the GUI thread responsive beside busy background threads (call it on the GUI thread).

    Two causes of event-loop stalls were measured with three refinement jobs on two cores
    (benchmarks/gui.py): the GUI thread waiting for the GIL behind Python-heavy workers, and
    waiting for a CPU behind the workers' and XLA's compute threads. So the GIL is handed over
    every millisecond instead of every 5 ms, and every other thread of the process runs at a lower
    OS priority (`lower_background_priority`)."""
    global _gui_thread_id
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    _gui_thread_id = threading.get_native_id()
    lower_background_priority()


_gui_thread_id: int | None = None  # set by favour_gui_thread; until then nothing is reprioritised


def lower_background_priority() -> int:
    """Lower the OS priority of every thread of this process except the GUI thread.

    Active once `favour_gui_thread` has named the GUI thread. On Linux the nice value is per
    thread; XLA's and torch's pools are created by the main thread at nice 0, so they are lowered
    here, and again whenever background work starts (pools grow lazily). Raising a nice value
    needs no privilege. Elsewhere each worker lowers its own Qt thread priority instead
    (`_lower_this_thread`). Returns the number of threads changed."""
    me = _gui_thread_id
    if me is None or not sys.platform.startswith("linux"):
        return 0
    changed = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 0
    for name in tasks:
        tid = int(name)
        if tid == me:
            continue
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
                changed += 1
        except OSError:  # the thread ended meanwhile, or the system forbids it: not an error
            pass
    return changed


def _lower_this_thread() -> None:
    """Run the calling worker thread below the GUI thread (once favour_gui_thread was called)."""
    if _gui_thread_id is None:
        return
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
        except OSError:
            pass
    else:
        thread = QThread.currentThread()
        if thread is not None and thread.priority() != QThread.Priority.LowPriority:
            try:
                thread.setPriority(QThread.Priority.LowPriority)
            except RuntimeError:  # the global pool's threads may refuse on some platforms
                pass


class _GeneratorRunner(QObject):
    """Lives in the job's thread; runs the generator to its end and reports through signals."""

    progress = Signal(object)   # the job's progress objects (studio.design.core.Progress for engines)
    finished = Signal(object)   # the job's result (list[Design], best first, for engines)
    failed = Signal(str)        # one-line message
    cancelled = Signal()
    done = Signal()             # always emitted last

    def __init__(self, make_generator: Callable[[JobControl], Iterator], control: JobControl):
        super().__init__()
        self._make_generator = make_generator
        self._control = control

    @Slot()
    def run(self) -> None:
        _lower_this_thread()
        try:
            result = drive(self._make_generator(self._control), self._control, self.progress.emit)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # a failing engine must not take the GUI down: report it
            log.error("job failed:\n%s", traceback.format_exc())
            self.failed.emit(f"{type(exc).__name__}: {exc}" if not _is_user_error(exc) else str(exc))
        else:
            if self._control.cancelled:
                self.cancelled.emit()
            else:
                self.finished.emit(result if result is not None else [])
        finally:
            self.done.emit()


def _is_user_error(exc: BaseException) -> bool:
    from studio.errors import StudioError
    return isinstance(exc, StudioError)


class EngineJob(QObject):
    """One running engine in its own thread: pausable, cancellable, joinable.

    Signals arrive on the thread that created the job (the GUI thread).
    `state` is one of "running", "paused", "finished", "cancelled", "failed".
    """

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()  # after any of finished/failed/cancelled; the thread is stopping

    def __init__(self, make_generator: Callable[[JobControl], Iterator], name: str = "", parent=None,
                 control: JobControl | None = None):
        super().__init__(parent)
        self.name = name
        self.control = control or JobControl()  # a job of the jobs table brings its own (studio.state.Job)
        self.state = "running"
        self.started_at = time.perf_counter()
        self.error = ""
        self._thread = QThread()
        self._thread.setObjectName(f"job:{name}")
        self._runner = _GeneratorRunner(make_generator, self.control)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self._runner.progress.connect(self.progress)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)
        self._runner.cancelled.connect(self._on_cancelled)
        # Direct: quit from the worker thread itself, so a GUI thread blocked in wait() is not deadlocked.
        self._runner.done.connect(self._thread.quit, Qt.DirectConnection)
        self._thread.finished.connect(self._thread_finished)  # queued to this (GUI) thread

    def start(self) -> "EngineJob":
        lower_background_priority()  # thread pools may have grown since the last job
        _live_jobs.add(self)  # a QThread destroyed while running aborts the process: hold it until it ends
        self._thread.start()
        return self

    def _thread_finished(self) -> None:
        self._thread.wait()  # `finished` is emitted just before the thread really ends
        _live_jobs.discard(self)
        self.ended.emit()

    # --- control (GUI thread) -------------------------------------------------
    def pause(self) -> None:
        if self.state == "running":
            self.control.pause()
            self.state = "paused"

    def resume(self) -> None:
        if self.state == "paused":
            self.control.resume()
            self.state = "running"

    def cancel(self) -> None:
        if self.state in ("running", "paused"):
            self.control.cancel()

    @property
    def active(self) -> bool:
        return self.state in ("running", "paused")

    def is_thread_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = 10_000) -> bool:
        """Block until the thread has ended (used on close and in tests)."""
        return self._thread.wait(timeout_ms)

    # --- results -------------------------------------------------------------
    def _on_finished(self, designs) -> None:
        self.state = "finished"
        self.finished.emit(designs)

    def _on_failed(self, message: str) -> None:
        self.state = "failed"
        self.error = message
        self.failed.emit(message)

    def _on_cancelled(self) -> None:
        self.state = "cancelled"
        self.cancelled.emit()


_live_jobs: set[EngineJob] = set()


class _CallSignals(QObject):
    result = Signal(object)
    error = Signal(str)


class _CallRunnable(QRunnable):
    def __init__(self, fn: Callable[..., Any], args, kwargs, signals: _CallSignals):
        super().__init__()
        self.setAutoDelete(True)
        self._fn, self._args, self._kwargs, self._signals = fn, args, kwargs, signals

    def run(self) -> None:
        _lower_this_thread()
        try:
            value = self._fn(*self._args, **self._kwargs)
        except Exception as exc:
            if not _is_user_error(exc):
                log.error("background call failed:\n%s", traceback.format_exc())
            self._signals.error.emit(str(exc) if _is_user_error(exc) else f"{type(exc).__name__}: {exc}")
        else:
            self._signals.result.emit((value,))  # boxed: PySide6 mis-counts references of a bare None


_live_calls: set[_CallSignals] = set()


def call_in_thread(fn: Callable[..., Any], *args, on_result: Callable[[Any], None] | None = None,
                   on_error: Callable[[str], None] | None = None, **kwargs) -> _CallSignals:
    """Run fn(*args, **kwargs) on the global thread pool; callbacks run on the GUI thread."""
    signals = _CallSignals()
    _live_calls.add(signals)
    if on_result is not None:
        signals.result.connect(lambda box: on_result(box[0]))
    if on_error is not None:
        signals.error.connect(on_error)
    signals.result.connect(lambda _v, s=signals: _live_calls.discard(s))
    signals.error.connect(lambda _m, s=signals: _live_calls.discard(s))
    QThreadPool.globalInstance().start(_CallRunnable(fn, args, kwargs, signals))
    return signals


def wait_for_calls(timeout_ms: int = 10_000) -> bool:
    """Wait for every call_in_thread to finish (on close, so no thread outlives the window)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
