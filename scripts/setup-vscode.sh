#!/usr/bin/env bash
# Installs the real VS Code the host and e2e tiers run in: code-server@4.100.3
# (VS Code 1.100.3, Node 20) into .vscode-test/code-server/, plus Debian's Chromium
# and the headers its native modules build against. Idempotent: every step checks
# first, so a second run only prints "already ..." lines. Runs as root with no stdin.
# See docs in ../shared/REAL_VSCODE.md (why code-server: the network reaches only
# npm, PyPI and Debian, so @vscode/test-electron cannot download VS Code here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CODE_SERVER_VERSION=4.100.3
RIPGREP_VERSION=1.15.11          # @vscode/ripgrep version code-server pins
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
CS_DIR="$ROOT/.vscode-test/code-server"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"

say() { printf '[setup-vscode] %s\n' "$*"; }

# 1. Debian packages (Chromium, ripgrep, headers for node-pty and friends).
APT_PKGS=(libkrb5-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep chromium)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "apt packages already installed"
else
  say "installing apt packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q </dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi
command -v chromium >/dev/null || { say "chromium not found after install"; exit 1; }

# 2. code-server, in a folder of its own so its 300 MB never touch our node_modules.
if [ -x "$CS_BIN" ] && "$CS_BIN" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION"; then
  say "code-server $CODE_SERVER_VERSION already installed in .vscode-test/code-server"
else
  # @vscode/ripgrep's postinstall downloads rg from GitHub unless it finds this cached
  # tarball first; feed it Debian's rg so the install works offline.
  cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$RIPGREP_VERSION"
  if [ ! -s "$cache/$RIPGREP_ASSET" ]; then
    say "seeding the ripgrep cache with $(command -v rg)"
    mkdir -p "$cache"
    tmp=$(mktemp -d)
    cp "$(command -v rg)" "$tmp/rg"
    tar -czf "$cache/$RIPGREP_ASSET" -C "$tmp" rg
    rm -rf "$tmp"
  fi
  say "installing code-server@$CODE_SERVER_VERSION into .vscode-test/code-server (takes a minute or more)"
  mkdir -p "$CS_DIR"
  [ -f "$CS_DIR/package.json" ] || echo '{ "name": "runwatch-vscode-test", "private": true }' > "$CS_DIR/package.json"
  # --unsafe-perm: postinstall scripts must run as root; npm_config_yes: node-pty's
  # postinstall calls `npx node-gyp`, which would otherwise prompt.
  (cd "$CS_DIR" && npm_config_yes=true npm install --unsafe-perm --no-audit --no-fund \
      "code-server@$CODE_SERVER_VERSION" </dev/null)
  "$CS_BIN" --version | head -n 1
fi
say "ready: $CS_BIN"
