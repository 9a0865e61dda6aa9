"""What the screenshot scripts share: the studio's window offscreen, grabbed to a PNG when a script says.

    shot = Shot(out)                  # QApplication and MainWindow (1600×1000), shown
    shot.state["phase"] = ...         # the script's own progress; shot.state["code"]: its exit code
    shot.save_and_quit(0)             # grab the window to `out`, close, leave the event loop
    return shot.run(timeout_s)        # the event loop; a picture with code 1 after timeout_s
"""
import sys
import time


class Shot:
    def __init__(self, out):
        from PySide6.QtWidgets import QApplication

        from studio.gui.main_window import MainWindow

        self.out = out
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.window = MainWindow(session_path=None)
        self.window.resize(1600, 1000)
        self.window.show()
        self.state = {"phase": "candidates", "code": 1, "t0": time.perf_counter()}

    def save_and_quit(self, code: int) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.window.grab().save(str(self.out))
        print(f"wrote {self.out} ({time.perf_counter() - self.state['t0']:.0f} s)")
        self.state["code"] = code
        self.window.close()
        self.app.quit()

    def run(self, timeout_s: float) -> int:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(int(timeout_s * 1000), lambda: self.save_and_quit(1))
        self.app.exec()
        return self.state["code"]
