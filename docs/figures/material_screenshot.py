"""Make docs/screenshots/material-panel.png: the Design workspace with a material given (offscreen).

    QT_QPA_PLATFORM=offscreen python docs/figures/material_screenshot.py [OUT.png] [PRESET]

Opens the studio on the example target with the shipped models, waits for its candidates, picks the
material preset PRESET (default: the PDMS one) in the material panel, waits for the candidates made
for that material and grabs the window. Exits 1 if that took over 10 minutes.
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    from studio.gui.app import _import_numerics

    _import_numerics()  # torch and JAX before Qt, float64 on, as the studio does
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from studio.design.material import PRESETS
    from studio.gui.main_window import EXAMPLE_TARGET, MainWindow

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "material-panel.png")
    preset = sys.argv[2] if len(sys.argv) > 2 else next(n for n in PRESETS if n.startswith("PDMS"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(session_path=None)
    window.mark_clean_exit_on_close = False
    window.resize(1600, 1000)
    window.show()
    panel = window.design.material_panel
    state = {"phase": "candidates", "code": 1, "t0": time.perf_counter()}

    def save_and_quit(code: int) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        print(f"wrote {out} ({time.perf_counter() - state['t0']:.0f} s)")
        state["code"] = code
        window.close()
        app.quit()

    def on_candidates(_generation) -> None:
        if state["phase"] == "candidates" and window.state.board.entries:
            state["phase"] = "material"
            panel.apply_preset(preset)  # as the preset box does
        elif state["phase"] == "material" and window.state.board.entries:
            state["phase"] = "done"
            QTimer.singleShot(500, lambda: save_and_quit(0))  # let the inspector draw the selection

    window.candidates.shown.connect(on_candidates)
    window.files.import_csv(str(EXAMPLE_TARGET))
    QTimer.singleShot(600_000, lambda: save_and_quit(1))
    app.exec()
    return state["code"]


if __name__ == "__main__":
    sys.exit(main())
