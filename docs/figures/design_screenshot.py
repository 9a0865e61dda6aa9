"""Make the Design workspace screenshots of docs/gui.md with the shipped models (offscreen).

    QT_QPA_PLATFORM=offscreen python docs/figures/design_screenshot.py [OUT_DIR]

1. design-workspace-import.png: a measured curve with 2 % noise, no units in its header and rows out
   of order is imported; its notes show in the banner (which belongs to that target), the best
   candidate is selected, every card shows E*, N, the largest d/R and the layout size, and the
   inspector frames the layout.
2. design-workspace-bilinear.png: the bilinear preset with its knee moved to 6 N and its second
   slope to 0.15 in the fields beside it, shown as μ = F/P in the target and inspector plots, and a
   long message in the status bar, elided before the device label.
Exits 1 if a step did not finish within its time.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    from studio.gui.app import _import_numerics

    _import_numerics()  # torch and JAX before Qt, float64 on, as the studio does
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from studio.gui.main_window import MainWindow

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    pg.setConfigOptions(mouseRateLimit=-1)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(session_path=None)
    window.resize(1600, 1000)
    window.show()
    board = window.state.board

    def wait(condition, what: str, timeout_s: float = 300.0) -> None:
        t0 = time.perf_counter()
        while not condition():
            app.processEvents()
            time.sleep(0.02)
            if time.perf_counter() - t0 > timeout_s:
                raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s")

    def settled() -> bool:
        """Candidates shown, every card's facts and the selected design's details computed."""
        return (window.candidates.job is None and bool(board.entries) and board.selected is not None
                and all(e.facts is not None for e in board.entries) and board.selected.details is not None)

    try:
        wait(lambda: bool(window.environment), "loading the models")
        rng = np.random.default_rng(3)
        p = np.linspace(0.5, 9.0, 60)
        f = (0.22 * p ** 0.85) * (1 + 0.02 * rng.standard_normal(p.size))
        order = np.r_[np.arange(20, 60), np.arange(0, 20)]  # the second half of the sweep written first
        csv = Path(tempfile.mkdtemp()) / "tribometer-run-07.csv"
        csv.write_text("load,friction\n" + "\n".join(f"{p[i]:.3f},{f[i]:.4f}" for i in order) + "\n")
        window.files.import_csv(str(csv))
        wait(lambda: window.state.target.sketch is not None and settled(), "the import's candidates")
        time.sleep(0.3)
        app.processEvents()
        window.grab().save(str(out / "design-workspace-import.png"))
        print("wrote", out / "design-workspace-import.png", "·", window.banner.label.text())

        design = window.design
        design.max_load_spin.setValue(10.0)  # the preset on the canonical range (the import set 9 N)
        design.apply_preset("bilinear")
        wait(lambda: design.knee_spin.isVisible(), "the bilinear fields")
        design.knee_spin.setValue(6.0)
        design.after_spin.setValue(0.15)
        design.mu_view_action.trigger()
        wait(lambda: "up to 6 N, then 0.15" in window.state.target.sketch.note and settled(),
             "the bilinear preset's candidates")
        window.report_error("Could not compute the band/layout: the worker was stopped while the studio closed "
                            "its job workers (it is computed again when the design is selected)", kind="warn")
        time.sleep(0.3)
        app.processEvents()
        window.grab().save(str(out / "design-workspace-bilinear.png"))
        print("wrote", out / "design-workspace-bilinear.png", "·", window.model_label.text())
        code = 0
    except TimeoutError as exc:
        print(exc, file=sys.stderr)
        code = 1
    window.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
