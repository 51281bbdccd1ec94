#!/usr/bin/env bash
# Installs Dockyard in a virtualenv, seeds demo content (a demo user and token, the real
# all-MiniLM-L6-v2 and a small dataset) and serves the hub on its embedded defaults:
# SQLite, git repos and blobs under ./data, background jobs in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${DOCKYARD_HOST:-127.0.0.1}"
PORT="${DOCKYARD_PORT:-8000}"
DATA="${DOCKYARD_DATA_DIR:-./data}"

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[demo]'
.venv/bin/dockyard demo --data-dir "$DATA" --host "$HOST" --port "$PORT"
echo "Serving on http://$HOST:$PORT (Ctrl-C to stop)"
exec .venv/bin/dockyard serve --data-dir "$DATA" --host "$HOST" --port "$PORT"
