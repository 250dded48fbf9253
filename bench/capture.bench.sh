#!/usr/bin/env bash
# TensorBoard capture: captured add_scalar against plain add_scalar of the same writer (torch and
# tensorboardX), and `python -c pass` start-up with the bundled sitecustomize against without.
# Prints one Markdown section. Needs `npm run build` (dist/collector-cli.js) and the Python test
# environment (`bash scripts/python-env.sh test`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.vscode-test/venv-test/bin/python
[ -x "$PY" ] || { echo "the Python test environment is missing: run bash scripts/python-env.sh test" >&2; exit 1; }
TMP=$(mktemp -d)
node dist/collector-cli.js --store "$TMP/store" --quiet > "$TMP/collector.out" 2> "$TMP/collector.err" < /dev/null &
CPID=$!
cleanup() { kill "$CPID" 2>/dev/null || true; wait "$CPID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  grep -q listening "$TMP/collector.out" 2>/dev/null && break
  kill -0 "$CPID" 2>/dev/null || { cat "$TMP/collector.err" >&2; exit 1; }
  sleep 0.1
done
read -r URL TOKEN < <("$PY" -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(d["url"], d["token"])' "$TMP/collector.out")
RUNWATCH_SPOOL_DIR="$TMP/spool" "$PY" bench/capture_bench.py --url "$URL" --token "$TOKEN" --collector-pid "$CPID"
