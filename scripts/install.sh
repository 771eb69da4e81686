#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine: Debian packages
# (only those missing), Node ≥ 22.12 (see toolchain.sh) and the npm dependencies.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: chromium (browser tests), hugo (compatibility test), debootstrap
# (sandbox root filesystem), crun (OCI runtime of the namespace driver), iproute2,
# util-linux; gcc and libc6-dev (the sandbox's small static C helpers, compiled at
# prepare time); docker-registry and skopeo (the class image store: the machines'
# Docker Hub mirror, and `npm run images`), e2fsprogs (each machine's Docker disk);
# qemu for the VM driver is installed by that driver's own setup.
APT_PACKAGES=(chromium hugo debootstrap crun iproute2 util-linux procps psmisc fonts-dejavu-core gcc libc6-dev
  docker-registry skopeo e2fsprogs)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "» installing Debian packages: ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "✗ need root to install ${missing[*]} (run as root, or install them yourself)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's docker-registry enables its own service on every address's port 5000: the
  # sandbox server runs the registry itself (read-only, on a unix socket), so turn it off.
  if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
fi

source scripts/toolchain.sh

# npm ci when the lock file changed since the last install, else nothing.
stamp=node_modules/.install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "» npm ci (Node $(node --version))" >&2
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
