"""Make docs/screenshots/material-panel.png: the Design workspace with a material given (offscreen).

    QT_QPA_PLATFORM=offscreen python docs/figures/material_screenshot.py [OUT.png] [PRESET]

Opens the studio on the example target with the shipped models, waits for its candidates, picks the
material preset PRESET (default: the PDMS one) in the material panel, waits for the candidates made
for that material and grabs the window. Exits 1 if that took over 10 minutes.
"""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    from studio.gui.app import _import_numerics

    _import_numerics()  # torch and JAX before Qt, float64 on, as the studio does
    from PySide6.QtCore import QTimer
    from shot import Shot

    from studio.design.material import PRESETS
    from studio.gui.main_window import EXAMPLE_TARGET

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "material-panel.png")
    preset = sys.argv[2] if len(sys.argv) > 2 else next(n for n in PRESETS if n.startswith("PDMS"))
    shot = Shot(out)  # docs/figures/shot.py
    window, state = shot.window, shot.state
    window.mark_clean_exit_on_close = False
    panel = window.design.material_panel

    def on_candidates(_generation) -> None:
        if state["phase"] == "candidates" and window.state.board.entries:
            state["phase"] = "material"
            panel.apply_preset(preset)  # as the preset box does
        elif state["phase"] == "material" and window.state.board.entries:
            state["phase"] = "done"
            QTimer.singleShot(500, lambda: shot.save_and_quit(0))  # let the inspector draw the selection

    window.candidates.shown.connect(on_candidates)
    window.files.import_csv(str(EXAMPLE_TARGET))
    return shot.run(600)


if __name__ == "__main__":
    sys.exit(main())
