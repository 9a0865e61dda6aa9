"""Where the studio's messages go: a dismissable banner above the panels, and the log (View ▸ Log).

Nothing modal: errors, warnings and offers (restore a crashed session) are a banner with an
optional action button; everything also goes to the status bar and the log.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSizePolicy, QToolButton

COLORS = {"error": ("#fde8e8", "#a33"), "info": ("#e8f0fd", "#235"), "warn": ("#fff4d6", "#740")}


class Banner(QFrame):
    """A dismissable message strip above the panels (errors, missing model, recovery offer)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.hide()
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 3, 8, 3)
        row.addWidget(self.label, 1)
        row.addWidget(self.action_button)
        row.addWidget(close)
        self._callback = None
        self.owner = ""  # "target": a message of the current target (an import's notes), which goes with it
        self.action_button.clicked.connect(self._act)
        self.hide()

    def show_message(self, text: str, kind: str = "error", action: str | None = None, callback=None,
                     owner: str = "") -> None:
        self.owner = owner
        bg, fg = COLORS.get(kind, COLORS["info"])
        self.setStyleSheet(f"Banner {{ background: {bg}; border: 1px solid {fg}; }} QLabel {{ color: {fg}; }}")
        self.label.setText(text)
        self._callback = callback
        self.action_button.setVisible(action is not None)
        if action:
            self.action_button.setText(action)
        self.show()

    def _act(self) -> None:
        cb, self._callback = self._callback, None
        self.hide()
        if cb:
            cb()


class ElidedLabel(QLabel):
    """One line of text that never pushes its neighbours: too long, it ends in "…" and its tooltip holds it all."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.full_text = ""
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setMinimumWidth(40)
        self.setStyleSheet("padding: 0 8px;")

    def set_full_text(self, text: str) -> None:
        self.full_text = str(text)
        self.setToolTip(self.full_text)
        self.setText(self.full_text)
        self.update()

    def shown_text(self) -> str:
        """The text as drawn at the label's width (elided when it does not fit)."""
        m = self.contentsMargins()
        width = max(0, self.width() - m.left() - m.right() - 16)  # 16: the 8 px padding on each side
        return self.fontMetrics().elidedText(self.full_text, Qt.ElideRight, width)

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setPen(self.palette().windowText().color())
        p.drawText(self.contentsRect().adjusted(8, 0, -8, 0), Qt.AlignLeft | Qt.AlignVCenter, self.shown_text())
        p.end()


class LogView(QPlainTextEdit):
    """The studio's log (logger "studio"), read-only; View ▸ Log shows it."""

    def __init__(self, logger: logging.Logger, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.logger = logger
        self.handler = _LogHandler(self)
        logger.addHandler(self.handler)
        logger.setLevel(logging.INFO)

    def detach(self) -> None:
        self.logger.removeHandler(self.handler)


class _LogBridge(QObject):
    """Carries log lines to the widget's thread: records come from worker threads too, and a widget may only
    be touched from the GUI thread (appending from a worker once hung the suite: a worker inside
    appendPlainText while the GUI thread laid the view out). It lives in the widget's thread, so a line
    emitted from another thread is queued to it."""

    line = Signal(str)

    def __init__(self, sink: QPlainTextEdit):
        super().__init__()
        self.sink = sink
        self.moveToThread(sink.thread())
        self.line.connect(self.append)

    @Slot(str)
    def append(self, text: str) -> None:
        try:
            self.sink.appendPlainText(text)
        except RuntimeError:  # widget already deleted
            pass


class _LogHandler(logging.Handler):
    def __init__(self, sink: QPlainTextEdit):
        super().__init__(logging.INFO)
        self.sink = sink
        self.bridge = _LogBridge(sink)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))

    def emit(self, record) -> None:
        try:
            self.bridge.line.emit(self.format(record))
        except RuntimeError:  # bridge already deleted
            pass
