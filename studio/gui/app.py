"""Start the studio: QApplication, main window, example target, demo/screenshot mode.

torch and JAX are imported before the QApplication is created (their thread pools and
CUDA/XLA initialisation must not race with Qt's).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path


def _import_numerics() -> None:
    import jax  # noqa: F401
    try:
        import torch  # noqa: F401
    except ImportError:  # the studio still works with θ-space search
        pass
    from studio.physics import enable_float64
    enable_float64()  # an entry point (also reached without studio.cli, e.g. from benchmarks)


def settle_heap() -> None:
    """Move everything allocated so far (torch, JAX, Qt wrappers: ~10^6 objects) out of the cyclic
    garbage collector's sight, so its full collections, which hold the GIL, stay short while the
    window runs (measured in benchmarks/gui.py: `gc_pauses_over_20ms`). Full collections are
    also made rarer (threshold2 10 → 100): refinement jobs create many short-lived arrays whose
    cyclic garbage is small, while each full pass over the heap stalled the event loop ~55 ms."""
    import gc

    gc.collect()
    gc.freeze()
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, 100)


def run_gui(*, demo: bool = False, screenshot: str | None = None, target_csv: str | None = None,
            size=(1600, 1000), demo_refine_s: float = 2.0, timeout_s: float = 180.0) -> int:
    """Open the studio. With `screenshot`, wait for candidates (and in demo mode one short
    refinement), save a picture of the window and exit 0 (1 if it timed out or the refinement failed)."""
    _import_numerics()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import pyqtgraph as pg

    from studio.gui.main_window import EXAMPLE_TARGET, MainWindow
    from studio.gui.workers import favour_gui_thread

    pg.setConfigOptions(mouseRateLimit=-1)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Friction Studio")
    app.setOrganizationName("FrictionStudio")
    from studio.io.session import autosave_path, has_recoverable_session

    session = autosave_path()
    recoverable = has_recoverable_session() and not demo and screenshot is None
    # The demo and screenshot runs never touch the user's autosave.
    window = MainWindow(session_path=None if (demo or screenshot) else session, refine_budget_s=30.0)
    window.resize(*size)
    window.show()
    if recoverable:  # keep the crashed session aside: the new run's autosave must not overwrite it
        import shutil
        kept = session.with_name(f"recovered-{time.strftime('%Y%m%d-%H%M%S')}.json")
        shutil.copyfile(session, kept)
        session = kept
        window.banner.show_message(f"The last session did not end cleanly. Restore it from {session}?", "info",
                                   action="Restore", callback=lambda: window.files.restore_session(session))
    settle_heap()
    favour_gui_thread()
    csv = target_csv or (str(EXAMPLE_TARGET) if EXAMPLE_TARGET.is_file() else None)
    if csv:
        window.files.import_csv(csv)
    else:
        window.design.apply_preset("power law")
    if screenshot is None:
        return app.exec()

    state = {"phase": "candidates", "t0": time.perf_counter(), "code": 1}

    def save_and_quit(code: int) -> None:
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(screenshot))
        state["code"] = code
        window.close()
        app.quit()

    def on_candidates(_generation) -> None:
        if state["phase"] != "candidates":
            return
        if demo and window.state.board.entries:
            state["phase"] = "refining"
            window.refine(window.state.board.entries[0].design, method="hybrid", budget_s=demo_refine_s)
        else:
            state["phase"] = "details"
            QTimer.singleShot(1500, lambda: save_and_quit(0))

    def on_job_ended(job) -> None:
        if state["phase"] == "refining" and not window.state.jobs.active():
            state["phase"] = "details"
            # A demo whose refinement failed says so in its exit code (the smoke tests rely on it).
            code = 0 if job.state == "finished" else 1
            if code:
                print(f"demo refinement ended {job.state}: {job.error}", file=sys.stderr)
            # Let the result's band and layout arrive, then take the picture.
            window.details.shown.connect(lambda: QTimer.singleShot(300, lambda: save_and_quit(code)))
            QTimer.singleShot(8000, lambda: state["phase"] == "details" and save_and_quit(code))

    window.candidates.shown.connect(on_candidates)
    window.state.jobs.ended.connect(on_job_ended)
    QTimer.singleShot(int(timeout_s * 1000), lambda: save_and_quit(1))
    app.exec()
    return state["code"]
