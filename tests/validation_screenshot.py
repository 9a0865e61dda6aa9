"""Render the Validation workspace offscreen and save it.

    python tests/validation_screenshot.py OUT.png [N] [LOADS] [SPACING_OUT.png]

A fixed design (the 16-asperity test design's θ, made softer: E* at 0.1 of its range, at N
asperities, seed 3) is put on the board and validated with the real BEM (in a thread: no worker
pool here); OUT.png shows the result (with the warning when it fails the 1 % tolerance). With
SPACING_OUT.png, "Find spacing (BEM)" then runs and that picture shows the layout it chose.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(__file__))

import jax  # noqa: E402,F401  (before Qt, as the studio does)
import torch  # noqa: E402,F401
import numpy as np  # noqa: E402

from studio.physics import enable_float64, from_unit  # noqa: E402

enable_float64()

THETA_UNIT = np.array([0.9, 0.8, 0.1, 0.6, 0.1] + [0.1, 0.2, 0.1, 0.5, 0.1] * 3 + [0.1, 0.5, 0.4])


def main(out: str, N: int = 16, loads: int = 16, spacing_out: str | None = None) -> int:
    from studio.design.core import Design
    from test_gui_helpers import screenshot_window

    app, w = screenshot_window()
    design = Design.evaluate(from_unit(THETA_UNIT), N, 3, name=f"example-N{N}", method="hybrid")
    w.state.target.set_N(N)  # the toolbar shows the design's N
    entry = w.state.board.add(design, select=True)
    page = w.workspaces[[x.title for x in w.workspaces].index("Validation")]
    w.tabs.setCurrentWidget(page)
    page.loads_spin.setValue(loads)

    def run(job):
        t0 = time.perf_counter()
        while job.active and time.perf_counter() - t0 < 1200:
            app.processEvents()
            time.sleep(0.02)
        for _ in range(50):
            app.processEvents()
            time.sleep(0.02)
        print(f"{job.name}: {job.state} in {time.perf_counter() - t0:.1f} s: {page.summary.text()} | "
              f"{page.warning.text()}")
        page.load_slider.setValue(page.load_slider.maximum() // 2)
        app.processEvents()

    job = page.validate_selected()
    run(job)
    ok = w.grab().save(out)
    if spacing_out and page.spacing_button.isEnabled():
        job = page.find_spacing_selected()
        run(job)
        ok = w.grab().save(spacing_out) and ok
    w.stop_all_jobs()
    w.close()
    return 0 if ok and job.state == "finished" and entry.design.validation is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], *(int(a) for a in sys.argv[2:4]), *sys.argv[4:5]))
