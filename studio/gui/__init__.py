"""studio.gui: the design studio's Qt widgets (PySide6 + pyqtgraph). Nothing else imports Qt.

Entry points: `studio.gui.app.run_gui` (what `friction-studio gui` calls) and
`studio.gui.main_window.MainWindow`.
"""
from __future__ import annotations

import sys


def _guard_singleton_refcounts() -> None:
    """Work around PySide6 ≥ 6.10 (abi3 wheels) on Python < 3.12: void Qt calls and signal emits
    return None/True without a new reference (harmless where those objects are immortal, 3.12+).
    Measured here with PySide6 6.12 on Python 3.11: each QThread.quit()/setAutoDelete() drops one
    reference to None, each Signal.emit() one to True, so a long session or test run ends with
    "Fatal Python error: none_dealloc" (or bool_dealloc). Giving the three singletons a huge
    reference count makes them effectively immortal, as on 3.12. Remove when the project runs on
    Python ≥ 3.12 or a fixed PySide6.
    """
    if sys.version_info >= (3, 12) or not hasattr(sys, "getrefcount"):
        return
    import ctypes

    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of every PyObject
        if count.value < (1 << 40):
            count.value += 1 << 40


_guard_singleton_refcounts()
