"""GUI responsiveness: target change → candidates shown, and event-loop stalls under load.

    .venv/bin/python benchmarks/gui.py [--changes 8] [--stall-seconds 10] [--jobs 3] [--N 64]

Runs the real main window offscreen with the real engines and the shipped model (when
present). Measures
  * candidates latency: from a target edit (preset switch, as a handle-drag release would)
    to the gallery showing the new candidates (an edit after a quiet spell starts them at once;
    the debounce only merges edits in quick succession). Goal < 300 ms.
  * longest event-loop stall while `--jobs` refinement jobs run: a 5 ms QTimer records
    the gaps between its ticks; a gap over 50 ms is a stall the user would feel. Goal: none.
    The jobs run in worker processes (studio.design.processes), as in the studio; the time
    from starting each to its first progress (goal ≤ 2 s; a refinement reports its start design
    at once) and to its first progress from the worker's search are reported too.
  * session autosave time (JSON, in a worker).
Prints one JSON line, then a short table. JIT compilation is warmed up first and reported.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _import_numerics() -> None:
    """JAX and torch before Qt, as the studio does. Here, not at module level: the engine worker
    processes (multiprocessing "spawn") re-import this script as their __main__, and the studio's
    own workers (started from `friction-studio`) import nothing heavy that way; measuring their
    first progress must not include seconds of torch and Qt imports that the studio does not pay."""
    import jax  # noqa: F401
    import torch

    torch.set_num_threads(1)
    from studio.physics import enable_float64
    enable_float64()  # an entry point, as studio.cli is for the studio
    import studio.gui  # noqa: F401


def main(argv=None) -> int:
    _import_numerics()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=8, help="target edits to time")
    ap.add_argument("--stall-seconds", type=float, default=10.0, help="how long to watch the event loop")
    ap.add_argument("--jobs", type=int, default=3, help="refinement jobs running meanwhile")
    ap.add_argument("--method", default="hybrid")
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--K", type=int, default=16, help="candidates per target")
    ap.add_argument("--no-freeze", action="store_true", help="diagnosis: skip run_gui's gc.freeze()")
    ap.add_argument("--no-favour", action="store_true",
                    help="diagnosis: skip run_gui's favour_gui_thread() (5 ms GIL interval, workers at nice 0)")
    ap.add_argument("--compile-cache", default=None,
                    help="persistent XLA cache folder, as `friction-studio gui` uses (default: the app's own); "
                         "0 = none, i.e. a first session that compiles everything while the jobs run")
    ap.add_argument("--no-details", action="store_true",
                    help="diagnosis: skip the selected design's band/layout worker between edits")
    args = ap.parse_args(argv)

    import tempfile

    from studio.physics import enable_compilation_cache

    cache_dir = enable_compilation_cache(args.compile_cache)  # as studio.cli does for the app

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from studio.design.targets import PRESETS, preset_sketch
    from studio.gui.main_window import MainWindow
    from studio.state.environment import load_environment

    app = QApplication.instance() or QApplication([])
    tmp = tempfile.mkdtemp(prefix="gui-bench-")
    t0 = time.perf_counter()
    env = load_environment()  # loads the model the way the window does (in a worker there)
    model_load_s = time.perf_counter() - t0
    w = MainWindow(settings=QSettings(os.path.join(tmp, "s.ini"), QSettings.IniFormat),
                   session_path=os.path.join(tmp, "session.json"), load_model_info=False)
    w.show_environment(env)
    if args.no_details:
        from studio.design.details import compute_details
        first = []

        def once(design):  # the first (warm-up) selection only
            if first:
                raise RuntimeError("details skipped (--no-details)")
            first.append(design)
            return compute_details(design)
        w.details.details_fn = once
    w.resize(1600, 1000)
    w.show()
    if not args.no_freeze:
        from studio.gui.app import settle_heap
        settle_heap()  # as run_gui does after building the window
    if not args.no_favour:
        from studio.gui.workers import favour_gui_thread
        favour_gui_thread()  # as run_gui does: 1 ms GIL hand-over, worker threads at a lower priority
    w.n_spin.setValue(args.N)
    w.k_spin.setValue(args.K)

    def wait_for(signal, timeout_ms=120_000):
        loop = QEventLoop()
        got = []
        signal.connect(lambda *a: (got.append(a), loop.quit()))
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        return got

    # Warm-up: compile the engines' batch objective and the exact model for this N.
    t0 = time.perf_counter()
    w.design.apply_preset("power law")
    wait_for(w.candidates.shown)
    warmup_s = time.perf_counter() - t0
    board = w.state.board
    if not board.entries:
        print(f"no candidates after warm-up: {w.banner.label.text()}", file=sys.stderr)
        return 2
    board.select(board.entries[0])
    wait_for(w.details.shown, 60_000)
    warm_all_s = time.perf_counter() - t0

    latencies, engine_s, gallery_s, before_s = [], [], [], []
    for i in range(args.changes):
        name = PRESETS[i % len(PRESETS)]
        # One source for every edit, as a handle-drag release: the editor frames a law anew only when
        # it comes from elsewhere (a preset chosen, a file), which these edits stand in for no more.
        sketch = replace(preset_sketch(name, mu=0.2 + 0.02 * i), source="benchmark")
        w.state.target.edit(sketch, f"bench {i}")
        got = wait_for(w.candidates.shown, 60_000)
        if got:
            timings = w.candidates.timings
            latencies.append(timings["latency_s"])
            engine_s.append(timings["engine_s"])
            gallery_s.append(timings["gallery_s"])
            before_s.append(timings["wait_s"])
    lat = np.array(latencies) * 1000
    engine_ms, gallery_ms = np.median(engine_s) * 1000, np.median(gallery_s) * 1000
    before_ms = np.median(before_s) * 1000

    # Stalls: a 5 ms timer on the GUI thread while refinement jobs run.
    starts = [e.design for e in board.entries[: args.jobs]]
    while len(starts) < args.jobs:
        starts.append(starts[-1])
    gaps, gap_at = [], []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    first_progress_s: dict[int, float] = {}  # any Progress: a refinement's start report comes first
    first_search_s: dict[int, float] = {}    # the first Progress with evaluations: the worker searching

    def tick():
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        gap_at.append(now / 1e9)
        last[0] = now
        for i, j in enumerate(jobs):
            if i not in first_progress_s and j.progress is not None:
                first_progress_s[i] = now / 1e9
            if i not in first_search_s and j.progress is not None and j.progress.evaluations > 0:
                first_search_s[i] = now / 1e9

    import gc
    gc_pauses = []  # (time since start [s], generation, duration [ms]) of slow garbage collections
    gc_start = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            gc_start[0] = time.perf_counter()
        else:
            ms = (time.perf_counter() - gc_start[0]) * 1000
            if ms > 20:
                gc_pauses.append([round(clock.nsecsElapsed() / 1e9, 2), info["generation"], round(ms, 1)])

    gc.callbacks.append(on_gc)
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    jobs = [w.refine(d, method=args.method, budget_s=args.stall_seconds + 30) for d in starts]
    timer.start()
    loop = QEventLoop()
    QTimer.singleShot(int(args.stall_seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    gc.callbacks.remove(on_gc)
    progress_events = sum(j.progress.iteration if j.progress else 0 for j in jobs)
    best = [j.best.error_percent for j in jobs if j.best is not None and j.best.error_percent is not None]
    t0 = time.perf_counter()
    w.close()
    close_s = time.perf_counter() - t0
    g = np.array(gaps[1:]) if len(gaps) > 1 else np.array([np.nan])
    at = np.array(gap_at[1:]) if len(gap_at) > 1 else np.array([np.nan])
    long_gaps = [[round(float(t), 2), round(float(x), 1)] for t, x in zip(at, g) if x > 50]

    # Autosave (measured separately: the window is closed).
    from studio.io.session import save_session
    t0 = time.perf_counter()
    save_session(os.path.join(tmp, "again.json"), w.state.to_session())
    autosave_ms = (time.perf_counter() - t0) * 1000

    result = {
        "benchmark": "gui",
        "device": env.get("device"), "model": env.get("model"), "N": args.N,
        "model_load_s": round(model_load_s, 2), "first_candidates_s": round(warmup_s, 2),
        "warmup_with_details_s": round(warm_all_s, 2),
        "candidates_latency_ms": {"median": round(float(np.median(lat)), 1), "max": round(float(lat.max()), 1),
                                  "count": int(lat.size), "K": w.state.settings.K,
                                  "engine_median_ms": round(float(engine_ms), 1),
                                  "gallery_update_median_ms": round(float(gallery_ms), 1),
                                  "debounce_ms": w.candidates.debounce.interval(),
                                  "change_to_engine_start_median_ms": round(float(before_ms), 1)},
        "goal_candidates_ms": 300,
        "stall": {"jobs": args.jobs, "method": args.method, "seconds": args.stall_seconds,
                  "max_gap_ms": round(float(np.nanmax(g)), 1), "p99_gap_ms": round(float(np.nanpercentile(g, 99)), 1),
                  "gaps_over_50ms": int((g > 50).sum()), "ticks": int(g.size),
                  "long_gaps_at_s_ms": long_gaps[:10], "gc_pauses_over_20ms": gc_pauses[:10],
                  "job_iterations": int(progress_events), "best_smape_percent": [round(b, 2) for b in best],
                  "first_progress_s": [round(first_progress_s[i], 2) if i in first_progress_s else None
                                       for i in range(len(jobs))],
                  "first_search_progress_s": [round(first_search_s[i], 2) if i in first_search_s else None
                                              for i in range(len(jobs))]},
        "goal_first_progress_s": 2,
        "goal_max_stall_ms": 50, "details_between_edits": not args.no_details,
        "gc_freeze": not args.no_freeze, "favour_gui_thread": not args.no_favour,
        "close_with_running_jobs_s": round(close_s, 2),
        "session_save_ms": round(autosave_ms, 2),
        "compile_cache": cache_dir, "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result))
    print(f"{'measure':40s} {'value':>12s}  goal")
    print(f"{'first candidates (incl. JIT)':40s} {warmup_s:10.2f} s")
    print(f"{'candidates latency median / max':40s} {np.median(lat):6.0f}/{lat.max():.0f} ms  < 300 ms")
    print(f"{'  change→engine start / engine / gallery':40s} {before_ms:4.0f}/{engine_ms:.0f}/{gallery_ms:.0f} ms")
    print(f"{'longest event-loop gap, %d jobs' % args.jobs:40s} {np.nanmax(g):10.1f} ms  < 50 ms")
    print(f"{'gaps > 50 ms / ticks':40s} {int((g > 50).sum()):>6d}/{g.size}")
    firsts = [first_progress_s.get(i) for i in range(len(jobs))]
    print(f"{'jobs: first progress after':40s} " + " / ".join("–" if f is None else f"{f:.1f}" for f in firsts)
          + " s  ≤ 2 s")
    searching = [first_search_s.get(i) for i in range(len(jobs))]
    print(f"{'jobs: first search progress after':40s} "
          + " / ".join("–" if f is None else f"{f:.1f}" for f in searching) + " s")
    print(f"{'close window with running jobs':40s} {close_s:10.2f} s")
    print(f"{'session save':40s} {autosave_ms:10.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
