"""Does a BEM validation hold the GUI? The Validation workspace's job as a thread vs. in a worker process.

    .venv/bin/python benchmarks/gui_validation.py [--N 32] [--loads 16] [--rounds 1]

Runs the real main window offscreen (no design engines: nothing else runs), puts one design on
the board and runs "Validate (BEM)" (studio.design.validation.check_design) while a 5 ms QTimer on
the GUI thread records the gaps between its ticks (a gap over 50 ms is a stall the user feels),
first in a thread of the GUI process, then in a worker process (studio.design.processes, as the
studio runs it), alternately for --rounds rounds. The first thread round also pays the import of
ContactMechanics / SurfaceTopography in the GUI process; the process rounds pay a fresh worker's
start (spawn, JAX and the contact libraries). Prints one JSON line, then a short table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# The 16-asperity test design's θ (tests/test_validation.py) in the unit box, at --N asperities.
THETA_UNIT = [0.9, 0.8, 0.1, 0.6, 0.1] + [0.1, 0.2, 0.1, 0.5, 0.1] * 3 + [0.6, 0.5, 0.4]


def main(argv=None) -> int:
    import jax  # noqa: F401  (before Qt, as the studio does)
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from studio.physics import enable_float64, from_unit
    enable_float64()
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from studio.design.core import Design
    from studio.design.details import compute_details
    from studio.design.processes import EngineProcessPool
    from studio.gui.main_window import MainWindow
    from studio.gui.validation import ValidationWorkspace
    from studio.gui.workers import favour_gui_thread

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=32)
    ap.add_argument("--loads", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)

    app = QApplication.instance() or QApplication([])
    favour_gui_thread()  # as run_gui does
    design = Design.evaluate(from_unit(np.array(THETA_UNIT)), args.N, 3, name=f"bench-N{args.N}", method="bench")
    settings_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "gui-validation-bench.ini")
    rows = []
    for round_ in range(args.rounds):
        for mode in ("thread", "process"):
            w = MainWindow(engines={}, settings=QSettings(settings_path, QSettings.IniFormat), load_model_info=False,
                           details_fn=compute_details)
            w.mark_clean_exit_on_close = False
            w.resize(1600, 1000)
            w.show()
            if mode == "process":
                w.engines.pool = EngineProcessPool(spare=0)
            d = Design.evaluate(design.theta, design.N, design.seed, name=design.name, method="bench")
            w.state.board.add(d, select=True)
            page = next(p for p in w.workspaces if isinstance(p, ValidationWorkspace))
            w.tabs.setCurrentWidget(page)
            page.loads_spin.setValue(args.loads)
            t_wait = time.perf_counter()
            while w.state.board.selected.details is None and time.perf_counter() - t_wait < 120:
                app.processEvents()
                time.sleep(0.005)
            gaps, clock, last = [], QElapsedTimer(), [0]
            first = [None]
            clock.start()

            def tick():
                now = clock.nsecsElapsed()
                gaps.append((now - last[0]) / 1e6)
                last[0] = now
                if first[0] is None and job.progress is not None:
                    first[0] = now / 1e9

            timer = QTimer()
            timer.setInterval(5)
            timer.timeout.connect(tick)
            job = page.validate_selected()
            last[0] = clock.nsecsElapsed()
            timer.start()
            while job.active:
                app.processEvents()
                time.sleep(0.001)
            timer.stop()
            wall = clock.nsecsElapsed() / 1e9
            g = np.array(gaps[1:]) if len(gaps) > 1 else np.array([np.nan])
            v = d.validation
            rows.append({"mode": mode, "round": round_, "state": job.state, "wall_s": round(wall, 2),
                         "first_progress_s": None if first[0] is None else round(first[0], 2),
                         "bem_s": None if v is None else round(float(v.elapsed_s), 2),
                         "max_gap_ms": round(float(np.nanmax(g)), 1),
                         "p99_gap_ms": round(float(np.nanpercentile(g, 99)), 1),
                         "gaps_over_50ms": int((g > 50).sum()), "ticks": int(g.size),
                         "interaction_error_percent": None if v is None else round(v.interaction_error_percent, 3)})
            w.close()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(json.dumps({"benchmark": "gui_validation", "N": args.N, "loads": args.loads, "load_average": load,
                      "runs": rows}))
    print(f"{'mode':8s} {'round':>5s} {'state':>9s} {'wall s':>7s} {'1st prog s':>10s} {'max gap ms':>10s} "
          f"{'p99 ms':>7s} {'>50 ms':>7s}")
    for r in rows:
        print(f"{r['mode']:8s} {r['round']:5d} {r['state']:>9s} {r['wall_s']:7.2f} {r['first_progress_s'] or 0:10.2f} "
              f"{r['max_gap_ms']:10.1f} {r['p99_gap_ms']:7.1f} {r['gaps_over_50ms']:4d}/{r['ticks']}")
    return 0 if all(r["state"] == "finished" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
