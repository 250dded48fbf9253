#!/usr/bin/env bash
# Creates (once) the Python environment that tests and benchmarks share, from
# test/requirements.txt (torch and the tracker SDKs are heavy: one copy, not two).
# The environment lives outside the clone, in
# ${RUNWATCH_CACHE_DIR:-~/.cache/runwatch}/venv-<kind>-<hash of the requirements file>,
# so fresh clones on the same machine reuse it and a changed file gets a new one;
# .vscode-test/venv-<kind> is a link to it, the path the tests and scripts use.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-test}
req=test/requirements.txt
want=$(sha256sum "$req" | cut -d' ' -f1)
cache=${RUNWATCH_CACHE_DIR:-$HOME/.cache/runwatch}
venv=$cache/venv-$kind-${want:0:16}
link=.vscode-test/venv-$kind
mkdir -p .vscode-test "$cache"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.requirements.sha" 2>/dev/null)" = "$want" ]; then
  echo "Python $kind environment is up to date ($venv)"
else
  echo "Installing the Python $kind environment into $venv from $req (once per requirements file)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" > "$venv/.requirements.sha"
fi
# An older checkout kept the environment inside .vscode-test/ itself: replace it by the link.
if [ -d "$link" ] && [ ! -L "$link" ]; then rm -rf "$link"; fi
ln -sfn "$venv" "$link"
