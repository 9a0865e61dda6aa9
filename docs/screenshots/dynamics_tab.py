"""The Dynamics tab's screenshots in docs/gru.md: (1) a design selected and μ0 from its static law at
4 N, a slide-hold-slide preset, RSF and the learned model overlaid with their difference; (2) a measured
record opened and fitted (2σ intervals), the learned model's prediction beside the fitted RSF.

    QT_QPA_PLATFORM=offscreen python docs/screenshots/dynamics_tab.py [--out-dir docs/screenshots]

The record is synthetic (studio.dynamics.simulate with a = 0.008, b = 0.012, Dc = 20 µm, noise 1e-4),
written to a temporary folder; everything else is the studio as a user opens it.
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

import numpy as np  # noqa: E402
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


def synthetic_record(path: Path) -> None:
    from studio.dynamics import RsfParams, simulate, velocity_steps
    from studio.dynamics.files import write_curve

    protocol = velocity_steps((1e-6, 1e-5, 1e-6, 1e-5), slip_per_step_m=3e-4)
    params = RsfParams(mu0=0.6, a=0.008, b=0.012, Dc_m=2e-5, V0_m_s=1e-6)
    run = simulate(protocol, params, times_s=protocol.sample_times(600, boundaries=True))
    run = run._replace(mu=run.mu + 1e-4 * np.random.default_rng(0).standard_normal(run.mu.shape))
    write_curve(path, protocol, run)


def shoot(app, w, path: Path, ws) -> None:
    from studio.files import atomic_write

    for _ in range(20):  # let the last repaint land
        app.processEvents()
        time.sleep(0.05)
    with atomic_write(path) as part:
        w.grab().save(str(part))
    print(f"wrote {path}: {ws.info.text()}")


def open_studio(prefix: str):
    """The studio as a user opens it (shipped models), its settings and session in a new temporary
    folder, 1600×1000: (app, window, folder). The other screenshot scripts use it too."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    w = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat), session_path=tmp / "session.json")
    w.mark_clean_exit_on_close = False
    w.resize(1600, 1000)
    w.show()
    return app, w, tmp


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    app, w, tmp = open_studio("dynamics-shot-")
    w.design.apply_preset("power law")
    wait_until(app, lambda: w.state.board.selected is not None, 600, "candidates")
    ws = next(x for x in w.workspaces if x.title == "Dynamics")
    w.tabs.setCurrentWidget(ws)
    ws.load_spin.setValue(4.0)
    ws.from_design.setChecked(True)
    ws.editor.apply_preset("slide-hold-slide")
    wait_until(app, lambda: ws.comparison is not None and ws.comparison.mu_gru is not None
               and abs(ws.comparison.mu_rsf[0] - ws.mu0_spin.value()) < 1e-9, 120, "the design's curves")
    shoot(app, w, Path(args.out_dir) / "dynamics-tab.png", ws)

    ws.from_design.setChecked(False)  # the record's own μ0 (fitted)
    synthetic_record(tmp / "velocity-steps.csv")
    ws.open_record(tmp / "velocity-steps.csv")
    wait_until(app, lambda: ws.record is not None, 60, "the record")
    ws.fit()
    wait_until(app, lambda: ws.fit_result is not None, 300, "the fit")
    wait_until(app, lambda: ws.comparison is not None and ws.comparison.mu_gru is not None
               and ws.editor.protocol is ws.record.protocol
               and abs(ws.comparison.mu_rsf[0] - ws.fit_result.values["mu0"]) < 1e-3, 120, "the fitted curves")
    shoot(app, w, Path(args.out_dir) / "dynamics-tab-record.png", ws)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
