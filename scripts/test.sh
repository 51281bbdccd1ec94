#!/usr/bin/env bash
# Runs the whole Dockyard test suite on a fresh machine: system packages, a virtualenv with the
# pinned dependencies, then pytest in parallel (one live server per worker, shared by its tests).
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
command -v git >/dev/null || need_packages+=(git)
command -v git-lfs >/dev/null || need_packages+=(git-lfs)
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
exec .venv/bin/python -m pytest -n "${DOCKYARD_TEST_WORKERS:-2}" -p no:cacheprovider "$@"
