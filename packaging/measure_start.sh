#!/usr/bin/env bash
# Time the frozen program's start from a cold file cache (of its own files only).
#   bash packaging/measure_start.sh                 # --version, then `gui --screenshot` twice
#   bash packaging/measure_start.sh --version-only
# "Cold" here: every file under dist/friction-studio is evicted from the page cache with
# posix_fadvise(DONTNEED) before each timed run (no root needed, other programs' cache untouched).
set -euo pipefail
cd "$(dirname "$0")/.."
app=dist/friction-studio/friction-studio
[ -x "$app" ] || { echo "measure_start: build first (bash packaging/build.sh)" >&2; exit 2; }
export QT_QPA_PLATFORM=offscreen

evict() {
    .venv/bin/python - <<'PY'
import os
n = 0
for root, _dirs, files in os.walk("dist/friction-studio"):
    for name in files:
        path = os.path.join(root, name)
        if os.path.islink(path):
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n += 1
        finally:
            os.close(fd)
PY
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

evict
t0=$EPOCHREALTIME; "$app" --version; t1=$EPOCHREALTIME
cold_version=$(elapsed "$t0" "$t1")
t0=$EPOCHREALTIME; "$app" --version >/dev/null; t1=$EPOCHREALTIME
warm_version=$(elapsed "$t0" "$t1")
echo "start: --version: ${cold_version} s cold, ${warm_version} s warm"

if [ "${1:-}" != "--version-only" ]; then
    # `gui --screenshot` (no --demo): start, load the example target, wait for the first candidates,
    # settle 1.5 s, save the picture, exit. First run: evicted files and an empty JAX compilation
    # cache (a user's very first launch); second run: warm file cache and the JAX cache it filled.
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/friction-studio-start.XXXXXX")
    export FRICTION_STUDIO_JAX_CACHE="$tmp/jax-cache"
    evict
    t0=$EPOCHREALTIME; "$app" gui --screenshot "$tmp/first.png"; t1=$EPOCHREALTIME
    first=$(elapsed "$t0" "$t1")
    t0=$EPOCHREALTIME; "$app" gui --screenshot "$tmp/second.png"; t1=$EPOCHREALTIME
    second=$(elapsed "$t0" "$t1")
    echo "start: gui --screenshot (to first candidates + 1.5 s): ${first} s first launch (cold files, empty JAX cache), ${second} s next launch -> $tmp"
fi
