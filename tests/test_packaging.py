"""Static checks of the packaging files (packaging/, docs/packaging.md).

The PyInstaller build itself is too slow and large for CI; it is run by hand with
packaging/build.sh and packaging/smoke_test.sh (see docs/packaging.md). These tests check what
can be checked fast: the desktop entry, the AppStream metadata, that the spec ships the models
and resources where the studio looks for them, and the user-level installer on a fake build.
"""
from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import tomllib
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
DESKTOP = PACKAGING / "linux" / "friction-studio.desktop"
METAINFO = PACKAGING / "linux" / "io.frictionstudio.FrictionStudio.metainfo.xml"
SPEC = PACKAGING / "friction-studio.spec"
SCRIPTS = [PACKAGING / "build.sh", PACKAGING / "smoke_test.sh", PACKAGING / "measure_start.sh",
           PACKAGING / "linux" / "install.sh"]


def console_script_name() -> str:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    (name,) = [k for k, v in scripts.items() if v == "studio.cli:main"]
    return name


# ------------------------------------------------------------------------------------ desktop entry

def parse_desktop_entry(text: str) -> dict[str, dict[str, str]]:
    """Groups of a .desktop file (freedesktop Desktop Entry spec syntax); raises AssertionError
    naming the line on a syntax error or a duplicate key."""
    groups: dict[str, dict[str, str]] = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            assert re.fullmatch(r"\[[^\[\]]+\]", line), f"line {number}: bad group header {line!r}"
            current = line[1:-1]
            assert current not in groups, f"line {number}: group {current!r} appears twice"
            groups[current] = {}
            continue
        assert current is not None, f"line {number}: key before the first group header"
        match = re.fullmatch(r"([A-Za-z0-9-]+(?:\[[^\]]+\])?)=(.*)", line)
        assert match, f"line {number}: not key=value: {line!r}"
        key, value = match.groups()
        assert key not in groups[current], f"line {number}: key {key!r} appears twice"
        assert value == value.strip(), f"line {number}: stray spaces around the value of {key}"
        groups[current][key] = value
    return groups


def test_desktop_entry_syntax_and_required_keys():
    text = DESKTOP.read_text(encoding="utf-8")
    groups = parse_desktop_entry(text)
    assert text.lstrip().startswith("[Desktop Entry]"), "the first group must be [Desktop Entry]"
    entry = groups["Desktop Entry"]
    for key in ("Type", "Name", "Exec", "Icon", "Categories", "Comment"):
        assert entry.get(key), f"{DESKTOP.name}: required key {key} missing or empty"
    assert entry["Type"] == "Application"
    for key in ("Terminal", "StartupNotify"):
        if key in entry:
            assert entry[key] in ("true", "false"), f"{key} must be true or false"
    # Lists end with ';' (spec); the brief's categories.
    categories = entry["Categories"]
    assert categories.endswith(";") and {"Science", "Engineering"} <= set(categories.split(";"))
    assert entry["Keywords"].endswith(";")


def test_desktop_entry_runs_the_console_script_and_names_a_shipped_icon():
    entry = parse_desktop_entry(DESKTOP.read_text(encoding="utf-8"))["Desktop Entry"]
    program, *args = entry["Exec"].split()
    assert program == console_script_name() == entry["TryExec"]
    assert args == ["gui"]
    icons = REPO / "resources" / "icons"
    assert (icons / f"{entry['Icon']}.svg").is_file() and (icons / f"{entry['Icon']}.png").is_file()


def test_desktop_entry_parser_rejects_bad_lines():
    with pytest.raises(AssertionError, match="line 2: not key=value"):
        parse_desktop_entry("[Desktop Entry]\nName Friction Studio\n")
    with pytest.raises(AssertionError, match="line 3: key 'Name' appears twice"):
        parse_desktop_entry("[Desktop Entry]\nName=a\nName=b\n")
    with pytest.raises(AssertionError, match="line 1: key before"):
        parse_desktop_entry("Name=a\n[Desktop Entry]\n")


# ---------------------------------------------------------------------------------------- AppStream

def test_appstream_metainfo_has_the_required_fields():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == METAINFO.name.removesuffix(".metainfo.xml")
    for tag in ("name", "summary", "metadata_license", "project_license"):
        assert (root.findtext(tag) or "").strip(), f"<{tag}> missing or empty"
    assert root.findtext("name") == parse_desktop_entry(DESKTOP.read_text())["Desktop Entry"]["Name"]
    paragraphs = root.findall("description/p")
    assert paragraphs and all((p.text or "").strip() for p in paragraphs)
    launchable = root.find("launchable")
    assert launchable is not None and launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert root.findtext("provides/binary") == console_script_name()


def test_appstream_licence_and_release_match_the_project():
    from studio import __version__

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("project_license") == project["license"]  # an SPDX expression (PEP 639)
    versions = [r.get("version") for r in root.findall("releases/release")]
    assert versions and versions[0] == __version__ == project["version"]


# --------------------------------------------------------------------------------- PyInstaller spec

def run_spec(monkeypatch) -> dict:
    """Execute the spec with PyInstaller's build classes and collect helpers replaced by recorders
    (nothing is built or imported for real); returns what each was called with."""
    calls: dict = {"collect_all": [], "collect_submodules": []}

    def recorder(name):
        def record(*args, **kwargs):
            calls[name] = {"args": args, **kwargs}
            return types.SimpleNamespace(pure=[], scripts=[], binaries=[], datas=[])
        return record

    def collect_all(package):
        calls["collect_all"].append(package)
        return [], [], []

    def collect_submodules(package, *args, **kwargs):
        calls["collect_submodules"].append(package)
        return [f"{package}.<submodules>"]

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_all, hooks.collect_submodules = collect_all, collect_submodules
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    namespace = {"SPECPATH": str(PACKAGING), "__file__": str(SPEC)}
    namespace.update({name: recorder(name) for name in ("Analysis", "PYZ", "EXE", "COLLECT")})
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)
    return calls


def test_spec_ships_models_and_resources_where_the_studio_looks(monkeypatch):
    calls = run_spec(monkeypatch)
    datas = {(Path(src).resolve(), dest) for src, dest in calls["Analysis"]["datas"]}
    # Every shipped model (weights + card), and no training checkpoints.
    shipped = sorted((REPO / "models").glob("*.safetensors")) + sorted((REPO / "models").glob("*.card.json"))
    assert shipped, "no models/*.safetensors in the repository"
    for path in shipped:
        assert (path.resolve(), "models") in datas, f"{path.name} is not shipped in models/"
    assert not [src for src, _ in datas if src.suffix == ".pt"], "training checkpoints must not be shipped"
    # Every resource file, in the same relative folder.
    resources = [p for p in (REPO / "resources").rglob("*") if p.is_file()]
    assert resources
    for path in resources:
        assert (path.resolve(), str(path.parent.relative_to(REPO))) in datas, f"{path} not shipped"
    # The studio finds data relative to its package (a frozen module's __file__ is under
    # sys._MEIPASS/studio/...), so the bundle must mirror the source tree for these paths.
    from studio.design import benchmark
    from studio.models import store

    for used in (store.DEFAULT_CVAE, store.DEFAULT_VAE, benchmark.DEFAULT_SET):
        relative = used.resolve().relative_to(REPO)
        assert (used.resolve(), str(relative.parent)) in datas, f"the studio reads {relative}; not shipped there"


def test_spec_builds_the_launcher_with_the_numerical_stack(monkeypatch):
    calls = run_spec(monkeypatch)
    (script,) = calls["Analysis"]["args"][0]
    assert Path(script) == PACKAGING / "launcher.py" and "studio.cli import main" in Path(script).read_text()
    assert {"jax", "jaxlib"} <= set(calls["collect_all"])
    # CLI subcommands are imported by name, so the whole studio package must be collected.
    assert "studio" in calls["collect_submodules"] and "studio.<submodules>" in calls["Analysis"]["hiddenimports"]
    needed = {"torch", "jax", "jaxlib", "numpy", "scipy", "PySide6", "pyqtgraph", "h5py", "cma", "safetensors", "studio"}
    excluded = set(calls["Analysis"]["excludes"])
    assert not {e.split(".")[0] for e in excluded if "." not in e} & needed
    assert {"tkinter", "pytest"} <= excluded
    assert "matplotlib" not in excluded  # SurfaceTopography (BEM validation) imports it
    assert calls["COLLECT"]["name"] == calls["EXE"]["name"] == console_script_name()


# ----------------------------------------------------------------------------------- shell scripts

@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_install_script_installs_and_uninstalls_for_the_user(tmp_path):
    fake = tmp_path / "dist" / "friction-studio"
    (fake / "_internal" / "models").mkdir(parents=True)
    (fake / "friction-studio").write_text("#!/bin/sh\necho friction-studio 0.1.0\n")
    (fake / "friction-studio").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "FRICTION_STUDIO_DIST": str(fake)}
    install = PACKAGING / "linux" / "install.sh"

    for _ in range(2):  # installing over an existing install works too
        result = subprocess.run(["bash", str(install)], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    opt = home / ".local" / "opt" / "friction-studio"
    assert (opt / "friction-studio").is_file() and (opt / "_internal" / "models").is_dir()
    assert subprocess.run([str(home / ".local" / "bin" / "friction-studio")], capture_output=True,
                          text=True).stdout.strip() == "friction-studio 0.1.0"
    share = home / ".local" / "share"
    entry = parse_desktop_entry((share / "applications" / "friction-studio.desktop").read_text())["Desktop Entry"]
    assert entry["Exec"] == f"{opt}/friction-studio gui" and entry["TryExec"] == f"{opt}/friction-studio"
    assert (share / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "friction-studio.svg").is_file()
    assert (share / "icons" / "hicolor" / "256x256" / "apps" / "friction-studio.png").is_file()
    assert not [p for p in (home / ".local" / "opt").iterdir() if p.name != "friction-studio"], "temp folders left"

    result = subprocess.run(["bash", str(install), "--uninstall"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert not opt.exists() and not (home / ".local" / "bin" / "friction-studio").exists()
    assert not (share / "applications" / "friction-studio.desktop").exists()


def test_install_script_refuses_without_a_build(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "FRICTION_STUDIO_DIST": str(tmp_path / "none")}
    result = subprocess.run(["bash", str(PACKAGING / "linux" / "install.sh")], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "not built" in result.stderr
    assert not (tmp_path / ".local" / "opt" / "friction-studio").exists()
