#!/usr/bin/env bash
# Build the operators' dashboard: npm ci (cache under ~/.cache/fednids/npm), check the
# generated API types are fresh, type-check, Vitest, `vite build` to dashboard/dist.
# Idempotent: skips everything when the inputs' hash matches the last successful build.
set -euo pipefail
cd "$(dirname "$0")/../dashboard"
NPM_CACHE="${FEDNIDS_NPM_CACHE:-$HOME/.cache/fednids/npm}"
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x ../.venv/bin/python ]]; then PY="$(cd .. && pwd)/.venv/bin/python"; else PY=python3; fi
fi
command -v node >/dev/null || { echo "build-dashboard: node is missing (scripts/system-deps.sh installs it)" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 18 )) || { echo "build-dashboard: node >= 18 needed, found $(node --version)" >&2; exit 1; }

hash_of() { find "$@" -type f -not -path "*/__pycache__/*" -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1; }

# 1. dependencies, reinstalled only when the lock file changes
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f node_modules/.fednids-lock || "$(cat node_modules/.fednids-lock)" != "$lock_hash" ]]; then
  echo "build-dashboard: npm ci"
  npm ci --cache "$NPM_CACHE" --prefer-offline --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.fednids-lock
fi

# 2. everything else only when an input changed
inputs=$(hash_of src e2e scripts index.html package-lock.json package.json tsconfig.json vite.config.ts ../scripts/dump_dashboard_openapi.py ../hub/api ../contracts/events.py)
if [[ -f dist/index.html && -f dist/.fednids-build && "$(cat dist/.fednids-build)" == "$inputs" && "${FORCE:-0}" != 1 ]]; then
  echo "build-dashboard: up to date (dashboard/dist)"
  exit 0
fi
echo "build-dashboard: API types fresh?"
(cd .. && "$PY" scripts/dump_dashboard_openapi.py --check)
node scripts/check-types.mjs
echo "build-dashboard: type-check"
npx --no-install tsc --noEmit -p tsconfig.json
echo "build-dashboard: vitest"
npx --no-install vitest run --reporter=dot
echo "build-dashboard: vite build"
npx --no-install vite build --logLevel warn
echo "$inputs" > dist/.fednids-build
echo "build-dashboard: built dashboard/dist ($(du -sk dist | cut -f1) KiB)"
