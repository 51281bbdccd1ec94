#!/usr/bin/env bash
# Runs the whole Dockyard test suite on a fresh machine: system packages, a virtualenv with the
# pinned dependencies, lint, then pytest twice in parallel (one live server per worker, shared by
# its tests): on the embedded defaults (SQLite, local disk, in-process jobs), and the compat suite
# again scaled out (PostgreSQL + S3-compatible storage + 2 API processes + a separate worker).
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
command -v git >/dev/null || need_packages+=(git)
command -v git-lfs >/dev/null || need_packages+=(git-lfs)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_packages+=(postgresql)
command -v chromium >/dev/null || need_packages+=(chromium)  # the browser tests drive Debian's Chromium
if ((${#need_packages[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
  else
    echo "missing system packages: ${need_packages[*]} (install them with apt-get)" >&2
    exit 1
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/ruff check src tests bench
.venv/bin/mypy
workers="${DOCKYARD_TEST_WORKERS:-2}"
.venv/bin/python -m pytest -n "$workers" -p no:cacheprovider "$@"
DOCKYARD_TEST_BACKEND=scaled .venv/bin/python -m pytest -n "$workers" -p no:cacheprovider tests/compat "$@"
