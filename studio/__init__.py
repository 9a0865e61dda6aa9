"""Friction Studio: inverse design of frictional metainterfaces."""

__version__ = "0.1.0"
