"""Helpers for the GUI tests: a quick stand-in design engine and simulated mouse gestures.

The stand-in engines speak the engine protocol of studio.design.core exactly (yield
Progress, check control between generations, return designs best first) and score with
the real physics (Design.evaluate), but search a tiny neighbourhood so runs are short and
deterministic. The real engines' search quality is tested in the design layer.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from studio.design.core import Design, Progress
from studio.design.engines import ENGINES, EngineSpec
from studio.physics import THETA_LOWER, THETA_UPPER

BASE_UNIT = np.linspace(0.3, 0.7, THETA_LOWER.size)


def _theta(unit):
    return THETA_LOWER + np.clip(unit, 0, 1) * (THETA_UPPER - THETA_LOWER)


def quick_candidates(target, *, seed=0, time_budget_s=1.0, control=None, count=4, **options):
    """K designs around a fixed point of the box, best first (a stand-in for the CVAE engine)."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    designs = []
    for i in range(count):
        if control is not None:
            control.checkpoint()
        unit = BASE_UNIT + 0.15 * rng.standard_normal(BASE_UNIT.size)
        designs.append(Design.evaluate(_theta(unit), target.N, i, target, method="candidates",
                                       elapsed_s=time.perf_counter() - t0))
    designs.sort(key=lambda d: d.error_percent)
    yield Progress(1, count, designs[0].error_percent, designs[0], time.perf_counter() - t0, 1.0, "ranked")
    return designs


def quick_refine(target, *, seed=0, time_budget_s=1.0, control=None, start=None, step_s=0.02, **options):
    # `start`: the design to refine (the GUI passes it to engines whose spec says they take one)
    """Random local search for `time_budget_s` seconds, one Progress per generation."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    unit = BASE_UNIT.copy() if start is None else \
        (np.asarray(start.theta) - THETA_LOWER) / (THETA_UPPER - THETA_LOWER)
    best = Design.evaluate(_theta(unit), target.N, seed, target, method="quick")
    it = evals = 0
    while True:
        if control is not None:
            control.checkpoint()
        elapsed = time.perf_counter() - t0
        if elapsed >= time_budget_s:
            break
        it += 1
        trial = (np.asarray(best.theta) - THETA_LOWER) / (THETA_UPPER - THETA_LOWER) + \
            0.03 * rng.standard_normal(unit.size)
        d = Design.evaluate(_theta(trial), target.N, seed, target, method="quick")
        evals += 1
        if d.error_percent < best.error_percent:
            best = d
        time.sleep(step_s)  # stands in for the XLA time of a real generation (GIL released)
        yield Progress(it, evals, best.error_percent, best, time.perf_counter() - t0,
                       min(1.0, (time.perf_counter() - t0) / time_budget_s), "searching")
    best.elapsed_s = time.perf_counter() - t0
    return [best]


def quick_spec(name: str, run) -> EngineSpec:
    """The real engine's declaration (what the window reads) with a stand-in generator function."""
    return dataclasses.replace(ENGINES[name], run=run)


QUICK_ENGINES = {"candidates": quick_spec("candidates", quick_candidates),
                 "hybrid": quick_spec("hybrid", quick_refine),
                 "cmaes": quick_spec("cmaes", quick_refine),
                 "vae_cmaes": quick_spec("vae_cmaes", quick_refine)}


def view_pos(plot_widget, x: float, y: float) -> QPointF:
    """Widget-viewport pixel position of data point (x, y) in a pyqtgraph PlotWidget."""
    scene = plot_widget.getPlotItem().vb.mapViewToScene(QPointF(x, y))
    return QPointF(plot_widget.mapFromScene(scene))


def _send(viewport, kind, pos: QPointF, button, buttons) -> None:
    ev = QMouseEvent(kind, pos, QPointF(viewport.mapToGlobal(pos.toPoint())), button, buttons,
                     Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, ev)


def mouse_drag(plot_widget, data_points) -> None:
    """Press at the first data point, move through the others, release at the last (left button)."""
    vp = plot_widget.viewport()
    pts = [view_pos(plot_widget, x, y) for x, y in data_points]
    _send(vp, QEvent.Type.MouseButtonPress, pts[0], Qt.LeftButton, Qt.LeftButton)
    for p in pts[1:]:
        _send(vp, QEvent.Type.MouseMove, p, Qt.NoButton, Qt.LeftButton)
    _send(vp, QEvent.Type.MouseButtonRelease, pts[-1], Qt.LeftButton, Qt.NoButton)


def mouse_click(plot_widget, x: float, y: float) -> None:
    vp = plot_widget.viewport()
    p = view_pos(plot_widget, x, y)
    _send(vp, QEvent.Type.MouseButtonPress, p, Qt.LeftButton, Qt.LeftButton)
    _send(vp, QEvent.Type.MouseButtonRelease, p, Qt.LeftButton, Qt.NoButton)


def screenshot_window(size=(1600, 1000)):
    """(app, window) for a screenshot script: the studio with the stand-in engines and the real design details,
    settings in a temporary file (not the user's), shown offscreen."""
    import os
    import tempfile

    from PySide6.QtCore import QSettings

    from studio.design.details import compute_details
    from studio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "settings.ini"), QSettings.IniFormat)
    w = MainWindow(engines=QUICK_ENGINES, settings=settings, load_model_info=False, details_fn=compute_details)
    w.mark_clean_exit_on_close = False
    w.resize(*size)
    w.show()
    return app, w


def pump_events(app, until=None, timeout_s: float = 0.6, step_s: float = 0.02) -> bool:
    """Process the event loop of a screenshot script until `until()` is true (or, without it, for
    `timeout_s`): True when the condition came true (or none was given)."""
    import time

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        if until is not None and until():
            return True
        app.processEvents()
        time.sleep(step_s)
    return until is None or bool(until())


def save_and_close(w, out) -> bool:
    """Grab a screenshot script's window to `out`, stop its jobs and close it; True when the file was written."""
    ok = w.grab().save(str(out))
    w.stop_all_jobs()
    w.close()
    return ok
