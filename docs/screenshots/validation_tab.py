"""The Validation tab after "Validate (BEM)" (docs/validation.md, docs/gui.md): the BEM law over the
independent-asperity law, the error per load, the pressure map beside the layout, and the warning with the
clearance the first-order estimate expects to fix it.

    QT_QPA_PLATFORM=offscreen python docs/screenshots/validation_tab.py [--out docs/screenshots/validation.png]
        [--N 32] [--loads 16]

The design is the validation tests' θ (softer: E* at 0.1 of its range) at N asperities, seed 3, on its studio
layout; the validation runs as the studio's background job.
"""
import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402,F401  (torch and JAX before Qt)
import jax  # noqa: E402,F401

from studio.physics import enable_float64, from_unit  # noqa: E402

enable_float64()  # an entry point

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pattern_strip import THETA_UNIT  # noqa: E402  (the same design as the pattern-strip picture)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "validation.png"))
    ap.add_argument("--N", type=int, default=32)
    ap.add_argument("--loads", type=int, default=16)
    args = ap.parse_args()

    from studio.design.core import Design
    from studio.gui.validation import ValidationWorkspace
    from test_gui_helpers import pump_events, save_and_close, screenshot_window

    design = Design.evaluate(from_unit(THETA_UNIT), args.N, 3, name=f"example-N{args.N}", method="hybrid")
    app, w = screenshot_window()
    w.state.target.set_N(args.N)
    entry = w.state.board.add(design, select=True)
    pump_events(app, lambda: entry.details is not None, timeout_s=60)
    page = next(p for p in w.workspaces if isinstance(p, ValidationWorkspace))
    w.tabs.setCurrentWidget(page)
    page.loads_spin.setValue(args.loads)
    job = page.validate_selected()
    t0 = time.perf_counter()
    pump_events(app, lambda: not job.active, timeout_s=600, step_s=0.05)
    print(f"{job.state} in {time.perf_counter() - t0:.1f} s")
    if job.state != "finished":
        print(job.error)
        return 1
    page.load_slider.setValue(page.load_slider.maximum() // 2)
    pump_events(app)
    print(page.summary.text())
    print(page.warning.text())
    return 0 if save_and_close(w, args.out) else 1

if __name__ == "__main__":
    sys.exit(main())
