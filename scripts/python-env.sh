#!/usr/bin/env bash
# Creates (once) a Python virtual environment under .vscode-test/ from a
# requirements file: `python-env.sh test` uses test/requirements.txt,
# `python-env.sh bench` uses bench/requirements.txt. Reinstalls only when the
# requirements file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-test}
req=$([ "$kind" = bench ] && echo bench/requirements.txt || echo test/requirements.txt)
venv=.vscode-test/venv-$kind
stamp=$venv/.requirements.sha
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "Python $kind environment is up to date ($venv)"
  exit 0
fi
echo "Installing the Python $kind environment into $venv from $req (first run only)"
mkdir -p .vscode-test
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
echo "$want" > "$stamp"
