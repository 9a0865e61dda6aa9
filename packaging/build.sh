#!/usr/bin/env bash
# Build the installable Friction Studio folder with PyInstaller, then measure it.
#   bash packaging/build.sh            # -> dist/friction-studio/friction-studio (+ build/ work files)
# Sets up the project's .venv first if needed (packaging/quickstart.sh setup), so it works from a
# fresh clone. CPU heavy (several minutes); on a shared machine: nice -n 19 bash packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash packaging/quickstart.sh setup
if ! .venv/bin/python -c 'import PyInstaller' 2>/dev/null; then
    echo "build: installing PyInstaller (the project's [package] extra)" >&2
    .venv/bin/python -m pip install -q -e ".[package]"
fi
export OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen

start=$(date +%s)
.venv/bin/python -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build packaging/friction-studio.spec
echo "build: PyInstaller took $(( $(date +%s) - start )) s"

app=dist/friction-studio/friction-studio
[ -x "$app" ] || { echo "build: $app was not produced" >&2; exit 1; }
echo "build: bundle size: $(du -sh dist/friction-studio | cut -f1) (du -sh dist/friction-studio)"

# Cold start: drop this bundle's files (only these) from the page cache, then time `--version`.
bash packaging/measure_start.sh --version-only
