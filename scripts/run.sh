#!/usr/bin/env bash
# `npm start`: builds and packages Runwatch, installs the .vsix into a real VS Code
# (code-server, set up by scripts/setup-vscode.sh), opens a demo workspace and prints
# the URL to open. Once the extension is up, examples/demo_sweep.py streams a small
# synthetic sweep into Runwatch (six runs over learning rate and seed, one diverging,
# one failing with a traceback) and stops. Runs until Ctrl+C, then stops everything it
# started.
#   RUNWATCH_PORT=8080   port to serve on (the next free one is used if it is taken)
#   RUNWATCH_DEMO=0      do not stream the demo sweep
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE="$ROOT/.vscode-test/user"
WS="$ROOT/.vscode-test/demo-workspace"
CS="$ROOT/.vscode-test/code-server/node_modules/.bin/code-server"

say() { printf '\033[1m[runwatch]\033[0m %s\n' "$*"; }

say "set-up: npm dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund </dev/null
else
  echo "node_modules is up to date"
fi
say "set-up: code-server and Chromium"
bash scripts/setup-vscode.sh
say "build and package the .vsix"
npm run --silent package </dev/null
VERSION=$(node -p "require('./package.json').version")
VSIX="$ROOT/dist-vsix/runwatch-$VERSION.vsix"

say "install $VSIX into .vscode-test/user/extensions"
mkdir -p "$STATE/data/User" "$STATE/extensions"
if [ ! -f "$STATE/data/User/settings.json" ]; then
  # Quiet defaults for an offline machine; the demo workspace sits inside this git repository.
  cat > "$STATE/data/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "git.openRepositoryInParentFolders": "never"
}
JSON
fi
CS_ARGS=(--config "$STATE/config.yaml" --user-data-dir "$STATE/data" --extensions-dir "$STATE/extensions")
"$CS" "${CS_ARGS[@]}" --force --install-extension "$VSIX" </dev/null

if [ ! -d "$WS" ]; then
  say "create the demo workspace $WS"
  mkdir -p "$WS/.vscode"
  printf '# Runwatch demo workspace\n\nRun `python3 train_demo.py` or `python3 demo_sweep.py` in a terminal here.\n' > "$WS/README.md"
  # The dashboard opens by itself when the demo's first run starts.
  printf '{\n  "runwatch.dashboard.openOnRunStart": true\n}\n' > "$WS/.vscode/settings.json"
fi
# The current demo script, even in a workspace made by an older checkout.
[ -f examples/train_demo.py ] && cp examples/train_demo.py "$WS/"
[ -f examples/demo_sweep.py ] && cp examples/demo_sweep.py "$WS/"

# A discovery file left by an earlier session names a collector that is gone: wait for a fresh one.
rm -f "$WS/.runwatch/collector.json"

# The first free port from RUNWATCH_PORT (default 8080) upward.
PORT=$(node -e '
  const net = require("net");
  const tryPort = (p) => { const s = net.createServer(); s.once("error", () => tryPort(p + 1));
    s.listen(p, "127.0.0.1", () => s.close(() => console.log(p))); };
  tryPort(Number(process.env.RUNWATCH_PORT || 8080));')

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p test-output
# setsid: each child gets its own process group, so cleanup stops its helpers too.
setsid "$CS" "${CS_ARGS[@]}" --auth none --bind-addr "127.0.0.1:$PORT" \
  --disable-telemetry --disable-update-check "$WS" </dev/null &
PIDS+=($!)

if [ "${RUNWATCH_DEMO:-1}" != 0 ] && [ -f "$WS/demo_sweep.py" ]; then
  # The extension writes .runwatch/collector.json once a browser has opened the
  # workbench (that starts the extension host); the client finds it from the cwd.
  # One sweep, then nothing more: the runs table, groups and bands have six runs to show.
  setsid bash -c '
    cd "$1"
    until [ -f .runwatch/collector.json ]; do sleep 1; done
    echo "[runwatch] demo: streaming a sweep of six runs into Runwatch (RUNWATCH_DEMO=0 to skip)"
    PYTHONPATH="$2/clients/python" python3 demo_sweep.py >>"$2/test-output/demo-sweep.log" 2>&1 || true
    echo "[runwatch] demo: the sweep is done (\"Runwatch: Show Runs Table\" lists it; log: test-output/demo-sweep.log)"
  ' demo "$WS" "$ROOT" </dev/null &
  PIDS+=($!)
fi

for _ in $(seq 1 120); do
  if node -e 'require("http").get(process.argv[1], (r) => process.exit(r.statusCode < 500 ? 0 : 1)).on("error", () => process.exit(1))' \
      "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then break; fi
  sleep 1
done
URL="http://127.0.0.1:$PORT/?folder=$WS"
cat <<EOF

  Runwatch is running in VS Code (code-server) with the demo workspace.
  Open:  $URL
  Over SSH, forward the port first:  ssh -L $PORT:127.0.0.1:$PORT <this machine>
  Press Ctrl+C to stop.

EOF
wait "${PIDS[0]}"
