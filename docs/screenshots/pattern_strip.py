"""The Design tab's contact-pattern strip (docs/patterns.md): a design with a stored BEM validation selected,
the slider at one of the validated loads.

    QT_QPA_PLATFORM=offscreen python docs/screenshots/pattern_strip.py [--out docs/screenshots/pattern-strip.png]
        [--N 24] [--loads 4]

The design is the validation tests' θ (softer: E* at 0.1 of its range) at N asperities, seed 3, on its
studio layout; "Validate (BEM)" at `loads` loads is run first (as the Validation tab does) and kept on the
design, as a design file read back would carry it. The strip comes from the shipped model (models/patterns).
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

import numpy as np  # noqa: E402
import torch  # noqa: E402,F401  (torch and JAX before Qt)
import jax  # noqa: E402,F401

from studio.physics import enable_float64, from_unit  # noqa: E402

enable_float64()  # an entry point

THETA_UNIT = np.array([0.9, 0.8, 0.1, 0.6, 0.1] + [0.1, 0.2, 0.1, 0.5, 0.1] * 3 + [0.1, 0.5, 0.4])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "pattern-strip.png"))
    ap.add_argument("--N", type=int, default=24)
    ap.add_argument("--loads", type=int, default=4)
    args = ap.parse_args()

    from studio.design.core import Design
    from studio.design.validation import check_design
    from studio.jobs import drive
    from test_gui_helpers import pump_events, save_and_close, screenshot_window

    design = Design.evaluate(from_unit(THETA_UNIT), args.N, 3, name=f"example-N{args.N}", method="hybrid")
    t0 = time.perf_counter()
    report = drive(check_design(design, loads=args.loads))
    design.layout, design.validation = report.layout, report.validation
    print(f"BEM at {args.loads} loads: {time.perf_counter() - t0:.1f} s")

    app, w = screenshot_window()
    w.state.target.set_N(args.N)
    w.state.board.add(design, select=True)
    view = w.design.inspector.pattern_view
    pump_events(app, lambda: view.strip is not None, timeout_s=300)
    strip = view.strip
    if strip is None:
        print("no strip:", view.line.text())
        return 1
    k = np.flatnonzero(strip.from_bem)
    pick = next((i for i in k if strip.shown[i] != strip.predicted[i]), k[len(k) // 2])  # a disagreement if any
    w.design.inspector.load_slider.setValue(int(pick))
    pump_events(app)
    print(view.line.text())
    print("disagreements:", strip.disagreements)
    return 0 if save_and_close(w, args.out) else 1


if __name__ == "__main__":
    sys.exit(main())
