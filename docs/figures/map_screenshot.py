"""Make docs/screenshots/map-workspace.png: the studio's Map workspace with the shipped models (offscreen).

    QT_QPA_PLATFORM=offscreen python docs/figures/map_screenshot.py [OUT.png]

Opens the studio on the example target, waits for its candidates, shows the Map tab (the map of
4000 designs is made in the background, or read from the cache), waits for the target's inverse
solutions, clicks the map point nearest the first inverse solution so its design is decoded onto the
board and into the inspector, runs the default property sweep (μ at 5 N from 0.2 to 1.5 in 50
steps at the toolbar's N) and grabs the window. Exits 1 if that took over 15 minutes.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    from studio.gui.app import _import_numerics

    _import_numerics()  # torch and JAX before Qt, float64 on, as the studio does
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from shot import Shot

    from studio.gui.main_window import EXAMPLE_TARGET

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "map-workspace.png")
    pg.setConfigOptions(mouseRateLimit=-1)
    shot = Shot(out)  # docs/figures/shot.py: the window, grabbed by save_and_quit
    window, state, save_and_quit = shot.window, shot.state, shot.save_and_quit
    map_ws = next(w for w in window.workspaces if w.title == "Map")

    def on_candidates(_generation) -> None:
        if state["phase"] == "candidates" and window.state.board.entries:
            state["phase"] = "map"
            window.tabs.setCurrentWidget(map_ws)

    def on_job_ended(job) -> None:
        if state["phase"] == "map" and job is map_ws._inverse_job and len(map_ws.inverse_marks.data):
            state["phase"] = "decode"
            first = map_ws.inverse_marks.data[0]
            map_ws.decode_point(map_ws.design_map.nearest(first["x"], first["y"]))
        elif state["phase"] == "decode" and job.kind == "map" and job.name.startswith("Map point"):
            state["phase"] = "sweep" if job.state == "finished" else "failed"
            if map_ws.start_sweep() is None:
                save_and_quit(1)
        elif state["phase"] == "sweep" and job.kind == "sweep":
            state["phase"] = "done"
            print(map_ws.status.text())
            QTimer.singleShot(2000, lambda: save_and_quit(0 if job.state == "finished" else 1))

    window.candidates.shown.connect(on_candidates)
    window.state.jobs.ended.connect(on_job_ended)
    window.files.import_csv(str(EXAMPLE_TARGET))
    return shot.run(15 * 60)


if __name__ == "__main__":
    sys.exit(main())
