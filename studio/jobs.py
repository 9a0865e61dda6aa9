"""Background jobs: the contract every long computation speaks, and the one loop that drives it.

A job is a generator. It yields plain progress objects (picklable, no Qt: the design engines
yield `studio.design.core.Progress`; other jobs yield their own dataclasses), calls
`control.checkpoint()` between steps so it can be paused and cancelled within one step, and
returns its result (`StopIteration.value`). The caller decides where it runs and who sees the
progress; `drive` is the only loop that runs one, wherever that is:

    the command line ......... drive(job)                              (studio.design.engines.run)
    a worker process ......... drive(job, control, on_progress=send)   (studio.design.processes)
    the studio ............... drive(job, control, on_progress=emit)   (studio.gui.workers, a QThread)

So a new kind of background work (a BEM validation, a rate-and-state fit, a training run) is
a generator function `job(..., control=None)`; it runs on the command line, in a worker process
(`EngineProcessPool.run_job`) and in the studio without a loop of its own. Standard library only.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Generator


class Cancelled(Exception):
    """Raised inside a job when its control was cancelled; jobs let it propagate."""


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


@dataclass
class JobControl:
    """Pause/cancel handle shared between a running job and whoever drives it (thread-safe).

    The events may also be multiprocessing events (a worker process shares its driver's)."""

    _cancel: threading.Event = field(default_factory=threading.Event)
    _running: threading.Event = field(default_factory=lambda: _set(threading.Event()))

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused job so it can see the cancel

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def checkpoint(self) -> None:
        """Call between steps: blocks while paused, raises Cancelled if cancelled."""
        self._running.wait()
        if self._cancel.is_set():
            raise Cancelled()


def drive(job: Generator[Any, None, Any], control: JobControl | None = None,
          on_progress: Callable[[Any], None] | None = None) -> Any:
    """Run `job` to its end and return its result; `on_progress` sees every progress object.

    With `control`, the driver also checks it before the first step and after every yield
    (pausing there, raising Cancelled), so a job that forgets a checkpoint still stops. A job
    ended early (cancel, an error in `on_progress`) is closed, which runs its `finally` blocks.
    """
    try:
        if control is not None:
            control.checkpoint()
        while True:
            try:
                item = next(job)
            except StopIteration as stop:
                return stop.value
            if on_progress is not None:
                on_progress(item)
            if control is not None:
                control.checkpoint()
    finally:
        job.close()
