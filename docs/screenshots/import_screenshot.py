"""Screenshots of importing a noisy two-branch record (docs/gui.md, "Importing a measured record"):
(1) the import dialog on tests/data/records/noisy_two_branches.csv as it opens (loading branch, smoothing
on by default, measured points with the two outliers ×, the target they make, the notes); (2) the studio
after Import: the measured points over the resampled target in the target editor.

    QT_QPA_PLATFORM=offscreen python docs/screenshots/import_screenshot.py [--out-dir docs/screenshots]
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

from dynamics_tab import wait_until  # noqa: E402  (the screenshots' shared wait)

RECORD = ROOT / "tests" / "data" / "records" / "noisy_two_branches.csv"


def shoot(app, widget, path: Path) -> None:
    """The widget as a PNG, once the last repaint has landed (written atomically)."""
    from studio.files import atomic_write

    end = time.time() + 1.0
    while time.time() < end:
        app.processEvents()
    with atomic_write(path) as part:
        widget.grab().save(str(part))
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out_dir)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.IniFormat), session_path=tmp / "session.json",
                   load_model_info=False)
    w.mark_clean_exit_on_close = False
    w.resize(1500, 950)
    w.show()
    w.files.ask_import(RECORD)
    dialog = w.files.import_dialog
    dialog.resize(820, 760)
    wait_until(app, lambda: dialog.import_button.isEnabled(), 60, "the record to be read")
    shoot(app, dialog, out / "import-noisy-two-branch.png")
    dialog.import_button.click()
    wait_until(app, lambda: w.state.target.sketch is not None, 60, "the import")
    wait_until(app, lambda: len(w.design.editor.measured_item.data) > 0, 60, "the measured points")
    time.sleep(1.0)
    shoot(app, w, out / "import-noisy-two-branch-studio.png")
    w.close()


if __name__ == "__main__":
    main()
