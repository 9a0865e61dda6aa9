"""A newcomer's first experience, timed in a fresh clone: set-up, first design, first studio launch.

    python benchmarks/first_launch.py [--source REPO] [--rev REV] [--workdir DIR] [--keep]

Clones REPO (default: this checkout) at REV into a new temporary folder, with an empty JAX
compilation cache of its own (FRICTION_STUDIO_JAX_CACHE), and measures as a newcomer meets them:

  * `bash packaging/quickstart.sh setup` (a new .venv from the local wheels; what it prints on
    stderr is counted: warnings a newcomer should not see);
  * `friction-studio design resources/examples/example_target.csv --asperities 64 --time-budget 5`,
    wall clock, first run after set-up, then a second run (goal for the first: ≤ 10 s);
  * `friction-studio gui --screenshot` (offscreen): from launching the process to the first
    candidates shown (the window's own "N candidates in … ms" log line; goal ≤ 6 s), with the
    cache as set-up left it (restored after the design runs, so they do not warm it).

With --empty-cache both start from an empty cache anyway (what the warm-up of set-up saves).
The studio's settings and autosave folders are fresh too (XDG_CONFIG_HOME, XDG_STATE_HOME).

Prints one JSON line, then a short table. The figures are wall-clock on a shared machine: the
load average before each step is recorded beside it, and the CPU seconds the command used (its
own and its children's), which depend far less on the machine's other load.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

# Run inside the clone's own interpreter: times `friction-studio gui --screenshot` from the moment
# the parent launched it (T0 in the environment) to the window's log line for its first candidates.
_GUI_CHILD = r"""
import logging, os, sys, time
t0 = float(os.environ["FIRST_LAUNCH_T0"])
out = os.environ["FIRST_LAUNCH_OUT"]
class First(logging.Handler):
    def emit(self, record):
        text = record.getMessage()
        if " candidates in " in text and not os.path.exists(out):
            with open(out, "w") as fh:
                fh.write(f"{time.time() - t0:.3f} {text}\n")
log = logging.getLogger("studio.gui")
log.setLevel(logging.INFO)
log.addHandler(First())
from studio.cli import main
sys.exit(main(["gui", "--screenshot", sys.argv[1]]))
"""


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd, *, cwd, env, log_path) -> tuple[float, int, str, float]:
    """(wall s, exit code, stderr, CPU s of the command and the processes it waited for)."""
    t0, c0 = time.time(), _cpu_of_children()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall, cpu = time.time() - t0, _cpu_of_children() - c0
    Path(log_path).write_text(f"$ {' '.join(map(str, cmd))}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    return wall, proc.returncode, proc.stderr, cpu


def _warning_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "warning" in line.lower() or "deprecat" in line.lower()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=str(HERE), help="repository to clone (default: this checkout)")
    ap.add_argument("--rev", default="HEAD", help="revision to check out (default: HEAD of --source)")
    ap.add_argument("--workdir", default=None, help="folder for the clone and caches (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the clone (and its .venv) afterwards")
    ap.add_argument("--empty-cache", action="store_true",
                    help="measure from an empty JAX cache even after set-up (what set-up's warm-up saves)")
    args = ap.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="first-launch-"))
    clone = work / "fresh"
    cache = work / "jax-cache"
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    rev = subprocess.run(["git", "-C", args.source, "rev-parse", args.rev], capture_output=True, text=True,
                         check=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", args.source, str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", rev], check=True)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # A newcomer's studio settings and autosave are empty too (QSettings and the session live here).
    env.update(FRICTION_STUDIO_JAX_CACHE=str(cache), QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(work / "config"), XDG_STATE_HOME=str(work / "state"),
               XDG_DATA_HOME=str(work / "data"))
    result = {"benchmark": "first_launch", "rev": rev, "workdir": str(work), "cpu_count": os.cpu_count(),
              "empty_cache_after_setup": args.empty_cache}

    load = _load()
    wall, rc, err, cpu = _run(["bash", "packaging/quickstart.sh", "setup"], cwd=clone, env=env,
                              log_path=logs / "setup.log")
    result["setup"] = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "rc": rc, "load": load,
                       "warnings": _warning_lines(err)[:8],
                       "warning_lines": len(_warning_lines(err)),
                       "cache_files": sum(1 for _ in cache.rglob("*")) if cache.exists() else 0}
    if rc:
        print(json.dumps(result))
        print(f"set-up failed: see {logs / 'setup.log'}", file=sys.stderr)
        return 1
    # Each measurement below starts from what set-up left in the cache, restored at the same path:
    # JAX hashes the cache folder's path into its keys (the XLA autotuning cache option lives
    # there), so a copy elsewhere would miss every entry.
    after_setup = work / "jax-cache-after-setup"
    if cache.exists() and not args.empty_cache:
        shutil.copytree(cache, after_setup)
    else:
        after_setup.mkdir()

    def timed(name: str, cmd: list) -> list[dict]:
        """Two runs of `cmd`, the first from the cache as set-up left it, the second after the first."""
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(after_setup, cache)
        runs = []
        for i in (1, 2):
            load = _load()
            marker = work / f"{name}-{i}.first-candidates"
            t0 = time.time()
            wall, rc, err, cpu = _run([c.replace("{i}", str(i)) for c in cmd], cwd=clone,
                                      log_path=logs / f"{name}-{i}.log",
                                      env={**env, "FIRST_LAUNCH_T0": repr(t0), "FIRST_LAUNCH_OUT": str(marker)})
            runs.append({"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "rc": rc, "load": load,
                         "stderr_lines": len(err.splitlines()),
                         "stderr_head": err.splitlines()[:3],
                         "first_candidates_s": float(marker.read_text().split()[0]) if marker.exists() else None})
        return runs

    venv = clone / ".venv" / "bin"
    design = timed("design", [str(venv / "friction-studio"), "design", "resources/examples/example_target.csv",
                              "--asperities", "64", "--out", str(work / "design-{i}.h5"), "--time-budget", "5"])
    result["design"] = {"first": design[0], "second": design[1], "goal_first_wall_s": 10}
    gui = timed("gui", [str(venv / "python"), "-c", _GUI_CHILD, str(work / "gui-{i}.png")])
    result["gui"] = {"first": gui[0], "second": gui[1], "goal_first_candidates_s": 6}

    print(json.dumps(result))
    print(f"{'step':44s} {'wall':>8s} {'CPU':>8s}  {'load':>5s}  goal")
    print(f"{'quickstart.sh setup':44s} {result['setup']['wall_s']:7.1f}s {result['setup']['cpu_s']:7.1f}s  "
          f"{result['setup']['load']:5.2f}  ({result['setup']['warning_lines']} warning lines)")
    for key in ("first", "second"):
        r = result["design"][key]
        print(f"{'design --time-budget 5, ' + key + ' run':44s} {r['wall_s']:7.2f}s {r['cpu_s']:7.2f}s  "
              f"{r['load']:5.2f}  " + ("≤ 10 s" if key == "first" else ""))
    for key in ("first", "second"):
        r = result["gui"][key]
        shown = "–" if r["first_candidates_s"] is None else f"{r['first_candidates_s']:7.2f}s"
        print(f"{'studio launch → first candidates, ' + key:44s} {shown:>8s} {'':>8s}  {r['load']:5.2f}  "
              + ("≤ 6 s" if key == "first" else ""))
    if not args.keep:
        shutil.rmtree(clone, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
