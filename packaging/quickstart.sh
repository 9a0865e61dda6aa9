#!/usr/bin/env bash
# Friction Studio quick start: set up a virtual environment, then open the studio or run the tests.
#   bash packaging/quickstart.sh run     # set up, open the studio on the shipped model and example target
#   bash packaging/quickstart.sh test    # set up, run the whole test suite (what CI runs)
#   bash packaging/quickstart.sh setup   # set up only (used by packaging/build.sh)
# Set-up also compiles the physics once into JAX's persistent cache (`friction-studio warm-up`,
# ~15–45 s), so the first design and the first studio start do not wait for the compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-run}"
shift || true

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "quickstart: Python 3.11 is required ($PYTHON is $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 2
fi

if [ ! -x .venv/bin/python ]; then
    echo "quickstart: creating .venv" >&2
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.friction-studio-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "quickstart: installing dependencies (torch CPU build first, so no CUDA build is pulled)" >&2
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q "torch==2.13.0"
    # -qq: setuptools' note about how an editable install works is not the newcomer's business
    # (errors still print).
    .venv/bin/python -m pip install -qq -e ".[test]"
    touch "$stamp"
fi
warmed=.venv/.friction-studio-warmed
if [ ! -f "$warmed" ] || [ "$stamp" -nt "$warmed" ]; then
    echo "quickstart: compiling the physics once, so the first design and studio start are quick" >&2
    if .venv/bin/friction-studio warm-up >/dev/null; then
        touch "$warmed"
    else
        echo "quickstart: warm-up failed; the first design will compile as it goes" >&2
    fi
fi

case "$what" in
    setup)
        ;;
    run)
        exec .venv/bin/friction-studio gui "$@"
        ;;
    test)
        # Few threads: CI and laptops here have 2 cores.
        export OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen
        exec .venv/bin/python -m pytest -q "$@"
        ;;
    *)
        echo "usage: bash packaging/quickstart.sh run|test|setup [args]" >&2
        exit 2
        ;;
esac
