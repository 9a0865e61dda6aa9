#!/usr/bin/env bash
# Smoke test of the frozen program (run by hand after packaging/build.sh; too slow and large for CI).
#   bash packaging/smoke_test.sh                         # tests dist/friction-studio/friction-studio
#   APP=~/.local/opt/friction-studio/friction-studio bash packaging/smoke_test.sh   # an installed copy
# Checks: --version; `gui --demo --screenshot` (offscreen) exits 0 and writes a PNG; `design` on the
# example target writes a design file that the source tree's reader accepts. Runs from a scratch
# folder, so the frozen program cannot lean on files of the source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
app="${APP:-$repo/dist/friction-studio/friction-studio}"
case "$app" in /*) ;; *) app="$repo/$app" ;; esac
[ -x "$app" ] || { echo "smoke: $app not found; build first (bash packaging/build.sh)" >&2; exit 2; }
py="$repo/.venv/bin/python"
work=$(mktemp -d "${TMPDIR:-/tmp}/friction-studio-smoke.XXXXXX")
export QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1
export FRICTION_STUDIO_JAX_CACHE="$work/jax-cache"  # a first launch: no compiled programs from earlier runs
cd "$work"
fail=0
step() { echo; echo "smoke: == $* =="; }
ok() { echo "smoke: PASS $*"; }
bad() { echo "smoke: FAIL $*" >&2; fail=1; }

step "--version"
if version=$("$app" --version) && [[ "$version" == "friction-studio "* ]]; then ok "--version: $version"
else bad "--version printed '${version:-}'"; fi

step "gui --demo --screenshot demo.png"
t0=$EPOCHREALTIME
if timeout 600 "$app" gui --demo --screenshot "$work/demo.png"; then
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    if [ -s demo.png ] && [ "$(head -c 8 demo.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; then
        ok "demo screenshot: $work/demo.png ($(stat -c %s demo.png) bytes, ${secs} s)"
    else bad "gui exited 0 but demo.png is missing or not a PNG"; fi
else bad "gui --demo --screenshot exited $?"; fi

step "design example_target.csv --asperities 64 --out design.h5 --time-budget 5"
if timeout 600 "$app" design "$repo/resources/examples/example_target.csv" --asperities 64 \
        --out "$work/design.h5" --time-budget 5 > design.json; then
    cat design.json
    if "$py" - "$work/design.h5" "$work/design.json" <<'PY'
import json, sys
from studio.io.design_file import read_design_file
f = read_design_file(sys.argv[1])
line = json.loads(open(sys.argv[2]).read())
assert f.designs, "no designs in the file"
assert line["designs"] == len(f.designs), (line["designs"], len(f.designs))
assert f.design().name == line["best"], (f.design().name, line["best"])
assert f.target is not None and f.target.N == 64, "target missing or wrong N"
print(f"smoke: design file read back: {len(f.designs)} designs, best {f.best!r}, "
      f"sMAPE {line['smape_percent']:.3f} %, written by {f.software_version!r}")
PY
    then ok "design file is valid"; else bad "design file did not read back"; fi
else bad "design exited $?"; fi

echo
if [ "$fail" = 0 ]; then echo "smoke: ALL PASSED (outputs in $work)"; else echo "smoke: FAILED (outputs in $work)" >&2; fi
exit "$fail"
