#!/usr/bin/env bash
# The dashboard's API types, generated from the hub's OpenAPI only (`make schemas`):
#   1. scripts/dump_dashboard_openapi.py writes create_app(...).openapi() to
#      dashboard/src/api/openapi.json (no server);
#   2. openapi-typescript turns it into dashboard/src/api/generated.ts (committed);
#      dashboard/src/api/types.ts names the shapes the dashboard uses from it.
# --check: change nothing, exit 1 when either committed file is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
if [[ ! -x dashboard/node_modules/.bin/openapi-typescript ]]; then
  echo "gen-dashboard-types: npm ci (dashboard/node_modules is missing)"
  npm --prefix dashboard ci --cache "${FEDNIDS_NPM_CACHE:-$HOME/.cache/fednids/npm}" \
    --prefer-offline --no-audit --no-fund --loglevel=error
fi
if [[ "${1:-}" == "--check" ]]; then
  "$PY" scripts/dump_dashboard_openapi.py --check
  node dashboard/scripts/check-types.mjs
  exit 0
fi
"$PY" scripts/dump_dashboard_openapi.py
(cd dashboard && node_modules/.bin/openapi-typescript src/api/openapi.json -o src/api/generated.ts)
