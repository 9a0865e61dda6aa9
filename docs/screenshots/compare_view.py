"""The screenshots of N: auto and the compare view in docs/gui.md ("Choosing N", "Comparing designs").

    QT_QPA_PLATFORM=offscreen python docs/screenshots/compare_view.py [--out-dir docs/screenshots]

The studio as a user opens it (the shipped CVAE), the bilinear preset at μ = 0.3, N = 64, K = 16:
(1) N: auto over the nine counts, the best and the smallest good-enough N marked (n-auto.png);
(2) "Compare them…": those two counts' best candidates beside the best card at N = 64 (compare-view.png).
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402,F401  (torch and JAX before Qt)
import jax  # noqa: E402,F401

from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point


def wait_until(app, condition, timeout_s: float, what: str) -> None:
    end = time.time() + timeout_s
    while not condition():
        if time.time() > end:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def shoot(app, widget, path: Path, text: str) -> None:
    from studio.files import atomic_write

    for _ in range(20):  # let the last repaint land
        app.processEvents()
        time.sleep(0.05)
    with atomic_write(path) as part:
        widget.grab().save(str(part), "PNG")
    print(f"wrote {path}: {text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="compare-shot-"))
    w = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat), session_path=tmp / "session.json")
    w.mark_clean_exit_on_close = False
    w.resize(1600, 1000)
    w.show()
    wait_until(app, lambda: "generator" in w.state.models, 300, "the models")
    w.design.mu_spin.setValue(0.3)
    w.design.apply_preset("bilinear")
    wait_until(app, lambda: w.state.board.selected is not None and w.candidates.job is None, 600, "candidates")
    at_64 = w.state.board.selected.design
    dialog = w.show_auto_n()
    wait_until(app, lambda: w.state.auto_n.result is not None, 900, "N: auto")
    r = w.state.auto_n.result
    shoot(app, dialog, Path(args.out_dir) / "n-auto.png", dialog.info.text())

    dialog.compare.click()
    view = w.compare_dialog
    view.compare(view.state.compare.designs + [at_64])
    wait_until(app, lambda: len(w.state.compare.facts) == 3, 300, "the comparison")
    view.resize(1500, 1000)
    shoot(app, view, Path(args.out_dir) / "compare-view.png",
          f"best N = {r.best_N}, smallest good N = {r.smallest_good_N}; " + view.info.text())
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
