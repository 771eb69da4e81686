#!/usr/bin/env bash
# Installs what is missing, builds the sandbox root filesystem (first time only,
# about a minute) and the site, then serves both on one origin:
# http://localhost:4321 (the site, and the sandbox API under /api/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/toolchain.sh
npm run --silent sandbox:prepare
npm run --silent build
exec npm run --silent server
