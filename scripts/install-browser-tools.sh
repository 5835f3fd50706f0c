#!/usr/bin/env bash
# Installs the browser tests' front-end tools (axe-core) from the npm registry into DIR/node_modules,
# exactly as pinned by DIR/package-lock.json. Installs Debian's nodejs and npm first when npm is missing.
set -euo pipefail
dir="$1"
if ! command -v npm >/dev/null 2>&1; then
  bash "$(dirname "$0")/install-system-deps.sh" nodejs npm
fi
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error
