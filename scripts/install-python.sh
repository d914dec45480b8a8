#!/usr/bin/env bash
# Create the venv and install the pinned dependencies from a wheel cache outside the clone.
# Usage: install-python.sh PYTHON VENV WHEELS EXTRAS
set -euo pipefail
PYTHON=$1 VENV=$2 WHEELS=$3 EXTRAS=$4
LOCK=requirements/lock.txt
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -m pip install -q --upgrade "pip>=24" setuptools wheel
mkdir -p "$WHEELS"
t0=$(date +%s)
# Try the cache alone first; fetch (and build sdists into wheels) only when something is missing.
if ! "$PY" -m pip install -q --no-index --find-links "$WHEELS" -r "$LOCK" 2>/dev/null; then
  echo "install-python: filling the wheel cache $WHEELS (first run on this machine: torch alone is large)"
  "$PY" -m pip wheel -q --find-links "$WHEELS" -w "$WHEELS" -r "$LOCK"
  "$PY" -m pip install -q --no-index --find-links "$WHEELS" -r "$LOCK"
fi
"$PY" -m pip install -q --no-deps --no-build-isolation -e ".[$EXTRAS]"
echo "install-python: done in $(( $(date +%s) - t0 ))s"
