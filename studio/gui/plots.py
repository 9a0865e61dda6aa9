"""Shared plot look: the four component colours, the target's pen, labelled axes, hover read-outs."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

# One colour per mixture component, used in every plot (colour-blind-safe Okabe–Ito picks).
COMPONENT_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
TARGET_PEN = pg.mkPen("#1a1a1a", width=4)
DESIGN_COLOR = "#D55E00"
DESIGN_PEN = pg.mkPen(DESIGN_COLOR, width=2)
BAND_BRUSH = pg.mkBrush(213, 94, 0, 50)
PIN_COLORS = ("#56B4E9", "#999999", "#F0E442", "#882255")
UNMEASURED_BRUSH = pg.mkBrush(120, 120, 120, 45)

pg.setConfigOptions(antialias=True, background="w", foreground="#222")


def labelled_plot(plot: pg.PlotItem, x: tuple[str, str], y: tuple[str, str], title: str | None = None) -> pg.PlotItem:
    """Name every axis with its quantity and unit, e.g. ('P', 'N')."""
    plot.setLabel("bottom", x[0], units=x[1] or None, **{"font-size": "10pt"})
    plot.setLabel("left", y[0], units=y[1] or None, **{"font-size": "10pt"})
    for axis in ("bottom", "left"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
    if title:
        plot.setTitle(title, size="10pt")
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    cache_axes(plot)
    return plot


def cache_axes(plot: pg.PlotItem) -> None:
    """Paint each axis (ticks, labels, and the grid, which spans the whole view) into a cached pixmap.

    With the grid on, an axis overlaps the data area, so every curve update repainted it; replaying
    its tick-label picture was ~60 % of the GUI thread's time after a target edit (cProfile in
    benchmarks/gui.py: QPicture.play, ~3 ms per axis in the software rasteriser). Cached, a repaint
    is a pixmap copy; the axis redraws its picture only when its range, size or labels change."""
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class HoverReadout:
    """Shows 'x = …, y = …' in the plot's corner while the mouse is over it."""

    def __init__(self, plot: pg.PlotItem, fmt: str):
        self.plot = plot
        self.fmt = fmt
        self.label = pg.TextItem("", anchor=(0, 0), color="#333", fill=pg.mkBrush(255, 255, 255, 200))
        self.label.setZValue(100)
        self.label.setParentItem(plot.vb)
        self.label.setPos(4, 2)
        self.text = ""
        if plot.scene() is not None:  # the plot must already sit in a view
            plot.scene().sigMouseMoved.connect(self._moved)

    def _moved(self, scene_pos) -> None:
        vb = self.plot.vb
        if vb.sceneBoundingRect().contains(scene_pos):
            p = vb.mapSceneToView(scene_pos)
            self.text = self.fmt.format(x=p.x(), y=p.y())
        else:
            self.text = ""
        self.label.setText(self.text)

