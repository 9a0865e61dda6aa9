"""studio.gui: the design studio's Qt widgets (PySide6 + pyqtgraph). Nothing else imports Qt.

Entry points: `studio.gui.app.run_gui` (what `friction-studio gui` calls) and
`studio.gui.main_window.MainWindow`.

PySide6 is pinned to 6.9.3 in pyproject.toml: the 6.10–6.12 abi3 wheels drop a reference
to None on every void Qt call and to True on every signal emit under Python 3.11, which
ends a session with "Fatal Python error: none_dealloc" (measured; 6.9.3 shows no leak).
"""
