"""Can the studio open a window here? Checked before Qt starts. Standard library only (no Qt).

Without a display, or on a desktop that lacks a library Qt's X11 plugin links (a fresh Ubuntu
has no `libxcb-cursor0`), Qt aborts with "Could not load the Qt platform plugin "xcb" …
Reinstalling the application may fix this problem", which misleads. `check_display` finds both
cases first and raises a one-line DisplayError saying what to do: install the named system
packages, or run the headless demo. `friction-studio gui` calls it before importing Qt.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from studio.errors import StudioError

HEADLESS_DEMO = "QT_QPA_PLATFORM=offscreen friction-studio gui --demo --screenshot demo.png"
XCB_QPA_LIBRARY = "libQt6XcbQpa.so.6"  # Qt's X11 platform integration, which links the xcb libraries


class DisplayError(StudioError):
    """The studio's window cannot open here; the message says why and what to do."""


def check_display(env=None, platform: str | None = None, missing_libraries=None) -> None:
    """Raise DisplayError if Qt would abort for want of a display or of X11 libraries (Linux).

    `missing_libraries()` lists the shared libraries of Qt's X11 plugin the system lacks
    (default: asked of `ldd`)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return  # Windows and macOS bring their own window systems
    requested = (env.get("QT_QPA_PLATFORM") or "").strip().lower()
    first = re.split(r"[;:]", requested)[0] if requested else ""
    if first and first not in ("xcb", "wayland", "wayland-egl", "wayland-generic"):
        return  # offscreen, minimal, vnc, eglfs …: no window system needed
    x11, wayland = bool(env.get("DISPLAY")), bool(env.get("WAYLAND_DISPLAY"))
    uses_wayland = first.startswith("wayland") or (not first and wayland)
    if (uses_wayland and not wayland) or (not uses_wayland and not x11):
        raise DisplayError("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set); "
                           f"without a desktop, run the headless demo: {HEADLESS_DEMO}")
    if uses_wayland:
        return
    missing = (missing_libraries or missing_xcb_libraries)()
    if missing:
        raise DisplayError(f"Qt's X11 plugin needs system libraries this machine lacks ({', '.join(missing)}): "
                           f"install them with `sudo apt install {' '.join(debian_package(m) for m in missing)}` "
                           f"(Debian/Ubuntu names), or run the headless demo: {HEADLESS_DEMO}")


def xcb_qpa_library() -> Path | None:
    """Where PySide6's libQt6XcbQpa is (without importing PySide6), or None."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "Qt" / "lib" / XCB_QPA_LIBRARY
        if path.is_file():
            return path
    return None


def missing_xcb_libraries() -> list[str]:
    """Shared libraries (sonames) of Qt's X11 plugin that the dynamic loader cannot find, per `ldd`.

    Empty when everything is there, or when this cannot be told (no ldd, no PySide6 library)."""
    library, ldd = xcb_qpa_library(), shutil.which("ldd")
    if library is None or ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({m.group(1) for m in re.finditer(r"^\s*(\S+)\s+=>\s+not found", out, re.MULTILINE)})


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package of a library soname: libxcb-cursor.so.0 → libxcb-cursor0,
    libxkbcommon-x11.so.0 → libxkbcommon-x11-0 (a dash when the name ends in a digit)."""
    m = re.fullmatch(r"(lib.+)\.so\.(\d+)(?:\..*)?", soname)
    if not m:
        return soname
    name, major = m.group(1).lower(), m.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"
