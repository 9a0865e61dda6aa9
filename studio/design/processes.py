"""Design engines in worker processes: a job's Python work never shares the caller's GIL.

Why: with three refinement jobs as threads of the GUI process, the GUI thread waited for the
GIL behind their Python work (CMA-ES bookkeeping, trust-region steps, JAX dispatch) and its
event loop stalled 50–130 ms (benchmarks/gui.py). In worker processes at a lower OS priority
the same jobs leave it alone.

`EngineProcessPool.run_job(job, args, kwargs, control=...)` runs any job of studio.jobs (a
module-level generator function taking `control=`) in a worker and is itself a job: it yields the
worker's progress objects, returns the job's result, and honours a `JobControl` (pause, resume,
cancel) between yields. `run(method, target, control=..., **options)` is that for a design engine
(`studio.design.engines.call`). Workers are started with multiprocessing's "spawn" (a clean
interpreter: no forked thread pools), import JAX once, and are reused job after job; `prestart`
and `warm` prepare idle ones in advance so a job starts without import or tracing time. The
shipped models are loaded in each worker. Inside the worker the job runs under
`studio.jobs.drive`, the same loop as everywhere else.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
import traceback
from typing import Any, Callable, Iterator

from studio.design import engines
from studio.design.core import Design, Progress, Target
from studio.errors import StudioError
from studio.jobs import Cancelled, JobControl, drive
from studio.physics import bucket_width

log = logging.getLogger("studio.design")

_CTX = mp.get_context("spawn")
POLL_S = 0.05  # how often the driver mirrors pause/cancel into the worker while waiting for messages
WORKER_NICE = 15  # workers run below the GUI and its own helpers (nice 5; ignored where unsupported)
STOP_TIMEOUT_S = 5.0


class EngineProcessError(StudioError):
    """A worker process could not start or ended in the middle of a job."""


# --------------------------------------------------------------------------------------------
# The worker process


def _worker_main(conn, running, cancel, nice: int, compile_cache: str | None) -> None:
    """Serve ("job", fn, args, kwargs) and ("prepare", fn, args) requests until ("stop",).

    A warm-up ("prepare") runs in a thread of its own, so a job that arrives meanwhile starts at
    once: its first progress (a refinement's start design, which needs no compiling) goes out, then
    it waits for the warm-up, which is compiling the very programs it needs next."""
    try:  # absolute, not relative to the spawning thread's own (possibly lowered) priority
        if os.getpriority(os.PRIO_PROCESS, 0) < nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
    except (AttributeError, OSError):
        pass
    from studio.physics import enable_compilation_cache, enable_float64

    enable_float64()  # an entry point: the physics' float64 reference needs it
    enable_compilation_cache(compile_cache or "0")  # before the first compile
    control = JobControl(_cancel=cancel, _running=running)
    sending = threading.Lock()  # the warm-up thread and the job both answer on the pipe

    def send(msg) -> None:
        with sending:
            conn.send(msg)

    warming: list[threading.Thread] = []

    def prepare(fn, args) -> None:
        try:
            fn(*args)
        except Exception:  # a failed warm-up only means the first job compiles
            log.info("worker warm-up failed:\n%s", traceback.format_exc())
        send(("prepared",))

    def after_progress(item) -> None:
        send(("progress", item))
        while warming:  # the job goes on once the warm-up has compiled its programs (cancel still acts)
            warming[0].join(POLL_S)
            if not warming[0].is_alive():
                warming.pop(0)
            control.checkpoint()

    send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break  # the driver is gone
        kind = msg[0]
        if kind == "stop":
            break
        if kind == "prepare":
            _, fn, args = msg
            thread = threading.Thread(target=prepare, args=(fn, args), name="warm-up", daemon=True)
            warming.append(thread)
            thread.start()
            continue
        _, fn, args, kwargs = msg
        try:
            result = drive(fn(*args, control=control, **kwargs), control, on_progress=after_progress)
            send(("finished", result))
        except Cancelled:
            send(("cancelled",))
        except Exception as exc:
            user = isinstance(exc, StudioError)
            send(("failed", str(exc) if user else f"{type(exc).__name__}: {exc}", user, traceback.format_exc()))
    for thread in warming:
        thread.join(1.0)
    conn.close()


# --------------------------------------------------------------------------------------------
# The driver side


class _Worker:
    """One worker process, its pipe and its shared pause/cancel events."""

    def __init__(self, nice: int, compile_cache: str | None):
        self.conn, child = _CTX.Pipe()
        self.running = _CTX.Event()
        self.running.set()
        self.cancel = _CTX.Event()
        self.process = _CTX.Process(target=_worker_main, name="friction-studio-engine", daemon=True,
                                    args=(child, self.running, self.cancel, nice, compile_cache))
        self.process.start()
        child.close()
        self.pid = self.process.pid
        self.warmed: set = set()  # keys of the warm-ups asked of it

    def send(self, msg) -> None:
        try:
            self.conn.send(msg)
        except (OSError, ValueError) as exc:
            raise EngineProcessError(f"engine process {self.pid} is gone ({exc})") from None

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask the process to end; terminate it after `timeout_s`."""
        self.cancel.set()
        self.running.set()
        try:
            self.conn.send(("stop",))
        except (OSError, ValueError):
            pass
        self.process.join(timeout_s)
        self.terminate()
        try:
            self.conn.close()
        except OSError:
            pass

    def terminate(self) -> None:
        """End the process now (its pipe stays open for the driver that owns it)."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)


class EngineProcessPool:
    """Worker processes that run design engines; idle workers are kept for the next job.

    Thread-safe: several drivers (one per job, e.g. in GUI worker threads) may run at once, each
    on its own worker. `spare` idle workers are kept warm; more are started when jobs need them.
    """

    def __init__(self, spare: int = 1, keep: int = 3, nice: int = WORKER_NICE, compile_cache: str | None = None):
        self.spare = max(0, int(spare))
        self.keep = max(self.spare, int(keep))  # idle workers kept after jobs end (each holds ~0.5 GB)
        self.nice = int(nice)
        if compile_cache is None:
            import jax
            compile_cache = jax.config.jax_compilation_cache_dir  # the caller's own cache, if any
        self.compile_cache = compile_cache
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    # -- workers
    def prestart(self, count: int | None = None, target: Target | None = None) -> None:
        """Start idle workers up to `count` (default: `spare`) and, with `target`, warm them for its N."""
        with self._lock:
            if self._closed:
                return
            while len(self._idle) < (self.spare if count is None else count):
                self._idle.append(_Worker(self.nice, self.compile_cache))
        if target is not None:
            self.warm(target)

    def warm(self, target: Target) -> None:
        """Ask every idle worker to compile the refinement programs for the target's asperity bucket."""
        self.prepare(engines.compile_refinement, (target,), key=bucket_width(target.N))

    def prepare(self, fn: Callable[..., Any], args: tuple = (), key=None) -> None:
        """Have every idle worker run `fn(*args)` (a warm-up: load models, compile) in the background,
        once per `key`; a job later run with `prefer=key` takes such a worker first. A job that
        reaches a worker still warming up starts at once and waits for the warm-up after its first
        progress."""
        with self._lock:
            for w in self._idle:
                if key not in w.warmed:
                    w.warmed.add(key)
                    w.send(("prepare", fn, tuple(args)))

    def _acquire(self, width) -> _Worker:
        """An idle worker (one warmed for `width` first, if given) or a new one, marked busy."""
        with self._lock:
            if self._closed:
                raise EngineProcessError("the engine process pool is shut down")
            alive = [w for w in self._idle if w.process.is_alive()]
            for w in self._idle:
                if w not in alive:
                    w.stop(0.1)
            self._idle = sorted(alive, key=lambda w: width not in w.warmed)
            worker = self._idle.pop(0) if self._idle else _Worker(self.nice, self.compile_cache)
            self._busy.add(worker)
            return worker

    def _release(self, worker: _Worker, healthy: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            if healthy and not self._closed and worker.process.is_alive() and len(self._idle) < self.keep:
                self._idle.append(worker)
                return
        worker.stop()

    @property
    def workers(self) -> int:
        """Worker processes alive now (idle and busy)."""
        with self._lock:
            return sum(w.process.is_alive() for w in list(self._idle) + list(self._busy))

    def shutdown(self, timeout_s: float = 1.0) -> None:
        """Cancel running jobs and end every worker process, terminating those that do not stop within
        `timeout_s` (a worker holds no user data: its designs reach the caller as they are found)."""
        with self._lock:
            self._closed = True
            idle, busy = self._idle, list(self._busy)
            self._idle = []
        for w in busy:  # their drivers read the end of the job and release (and close) them
            w.cancel.set()
            w.running.set()
        deadline = time.monotonic() + timeout_s
        for w in idle:
            w.stop(max(0.05, deadline - time.monotonic()))
        for w in busy:
            w.process.join(max(0.05, deadline - time.monotonic()))
            w.terminate()  # its driver then sees the pipe end and raises Cancelled

    # -- jobs
    def run(self, method: str, target: Target, *, control: JobControl | None = None,
            **options) -> Iterator[Progress]:
        """Run design engine `method` in a worker (`engines.call(method, target, **options)`): yields
        its Progress (a refinement's start report first, from this process), returns its designs
        (best first). Errors as for `run_job`."""
        spec = engines.spec(method)  # an unknown name fails here, before a worker is taken
        # A refinement reports its start design from here, at once, while a worker is found or
        # started (seconds for a fresh one); the worker then goes straight to the search.
        first = engines.start_report(target, options.get("start")) if spec.takes_start else None
        if first is not None:
            yield first
        return (yield from self.run_job(engines.call, (method, target), {**options, "report_start": first is None},
                                        control=control, prefer=bucket_width(target.N)))

    def run_job(self, job: Callable[..., Iterator[Any]], args: tuple = (), kwargs: dict | None = None, *,
                control: JobControl | None = None, prefer=None) -> Iterator[Any]:
        """Run `job(*args, control=..., **kwargs)` (a job of studio.jobs: a module-level generator
        function, so the worker can import it) in a worker: yields its progress objects, returns its
        result. `prefer`: a worker warmed for this key (`warm`) is taken first.

        Raises `Cancelled` when `control` is cancelled, the job's own StudioError for bad input,
        RuntimeError for a failure inside the job and EngineProcessError if the worker dies.
        """
        name = getattr(job, "__qualname__", str(job))
        if args and isinstance(args[0], str):
            name = f"{name}({args[0]!r})"
        for attempt in (1, 2):  # a second, fresh worker if an idle one died meanwhile
            worker = self._acquire(prefer)
            try:
                _start_job(worker, ("job", job, tuple(args), dict(kwargs or {})))
                break
            except EngineProcessError:
                self._release(worker, healthy=False)
                if attempt == 2:
                    raise
        ended = False  # the worker reported the end of this job (it may take another)
        try:
            while True:
                _mirror(control, worker)
                try:
                    if not worker.conn.poll(POLL_S):
                        if not worker.process.is_alive():
                            raise EOFError(f"exit code {worker.process.exitcode}")
                        continue
                    msg = worker.conn.recv()
                except (EOFError, OSError) as exc:
                    if control is not None and control.cancelled:  # e.g. the pool was shut down
                        raise Cancelled() from None
                    raise EngineProcessError(f"the engine process ended during the job ({exc or 'pipe closed'})") \
                        from None
                kind = msg[0]
                if kind == "progress":
                    yield msg[1]
                elif kind == "finished":
                    ended = True
                    return msg[1]
                elif kind == "cancelled":
                    ended = True
                    raise Cancelled()
                elif kind == "failed":
                    ended = True
                    _, message, user, trace = msg
                    if user:
                        raise StudioError(message)
                    log.error("job %s failed in process %s:\n%s", name, worker.pid, trace)
                    raise RuntimeError(message)
                # "ready" and "prepared": the worker's answers to start-up and warm-up
        finally:
            if not ended:  # the driver stopped early (closed generator, error): stop the worker's job
                ended = _cancel_and_drain(worker)
            self._release(worker, healthy=ended)


def _start_job(worker: _Worker, request) -> None:
    worker.cancel.clear()  # a cancel of the worker's previous job must not stop this one
    worker.running.set()
    worker.send(request)


def _mirror(control: JobControl | None, worker: _Worker) -> None:
    """Copy the driver's pause/cancel state into the worker's shared events."""
    if control is None:
        return
    if control.cancelled:
        worker.cancel.set()
        worker.running.set()
    elif control.paused:
        worker.running.clear()
    else:
        worker.running.set()


def _cancel_and_drain(worker: _Worker, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Cancel the worker's job and read up to its end; True if it ended in time (worker reusable)."""
    worker.cancel.set()
    worker.running.set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and worker.process.is_alive():
        if worker.conn.poll(POLL_S):
            try:
                msg = worker.conn.recv()
            except (EOFError, OSError):
                return False
            if msg[0] in ("finished", "cancelled", "failed"):
                return True
    return False


def run_in_process(pool: EngineProcessPool, method: str, target: Target, **options) -> list[Design]:
    """Drive `pool.run` to the end (no progress); for scripts and tests."""
    return drive(pool.run(method, target, **options))
