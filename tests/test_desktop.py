"""Before Qt starts: no display, or missing X11 libraries, is a one-line message and exit 2, not Qt's abort."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.desktop import DisplayError, check_display, debian_package, xcb_qpa_library

REPO = Path(__file__).resolve().parents[1]
NONE_MISSING = list  # a stand-in for the ldd query: nothing missing


@pytest.mark.parametrize("env", [{}, {"QT_QPA_PLATFORM": "xcb"}, {"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}])
def test_no_display_names_the_headless_demo(env):
    with pytest.raises(DisplayError) as err:
        check_display(env, "linux", NONE_MISSING)
    assert "no display" in str(err.value) and "QT_QPA_PLATFORM=offscreen" in str(err.value)


@pytest.mark.parametrize("env,platform", [({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
                                          ({"QT_QPA_PLATFORM": "minimal"}, "linux"),
                                          ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),
                                          ({"DISPLAY": ":0"}, "linux"),
                                          ({}, "win32"), ({}, "darwin")])
def test_a_usable_window_system_passes(env, platform):
    check_display(env, platform, NONE_MISSING)


def test_missing_xcb_libraries_name_the_packages_to_install():
    with pytest.raises(DisplayError) as err:
        check_display({"DISPLAY": ":0"}, "linux", lambda: ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"])
    text = str(err.value)
    assert "sudo apt install libxcb-cursor0 libxkbcommon-x11-0" in text and "\n" not in text
    assert "QT_QPA_PLATFORM=offscreen" in text


def test_debian_package_names():
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert debian_package("libX11-xcb.so.1") == "libx11-xcb1"


def _gui(env_changes: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-m", "studio.cli", "gui"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)


def test_gui_without_a_display_exits_2_with_one_line(tmp_path):
    out = _gui({"PYTHONPATH": str(REPO)}, tmp_path)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1 and lines[0].startswith("friction-studio gui: no display")
    assert "Could not load the Qt platform plugin" not in out.stderr


@pytest.mark.skipif(sys.platform != "linux" or xcb_qpa_library() is None, reason="needs PySide6's X11 plugin (Linux)")
def test_gui_on_a_desktop_without_libxcb_cursor0_says_which_package(tmp_path):
    # A fresh Ubuntu desktop: an X display, and a loader that cannot find libxcb-cursor.so.0.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ldd").write_text("#!/bin/sh\necho '\tlibxcb-cursor.so.0 => not found'\n")
    (fake / "ldd").chmod(0o755)
    out = _gui({"PYTHONPATH": str(REPO), "DISPLAY": ":0", "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"},
               tmp_path)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1 and "sudo apt install libxcb-cursor0" in lines[0]
