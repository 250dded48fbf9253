#!/usr/bin/env bash
# Runs every test tier: type checking, lint (ESLint layer rules, Prettier), unit (Node), Python client (pytest),
# host (mocha inside a real VS Code extension host) and e2e (Chromium driving a
# real VS Code with the packaged .vsix). Set-up is idempotent and cached under
# .vscode-test/. Every tier runs even when an earlier one fails; the exit code
# is non-zero if any failed. The last lines are each runner's summary.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mkdir -p test-output
SUMMARY=test-output/summary.txt
: > "$SUMMARY"
FAILED_TIERS=()

step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

# run_tier NAME LOGFILE-PATTERN COMMAND...: runs a tier, keeps its output, records its summary line.
run_tier() {
  local name=$1 pattern=$2; shift 2
  step "$name"
  local out="test-output/$name.log"
  "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E "$pattern" "$out" | tail -n 3 | tr '\n' ' ' | sed 's/\x1b\[[0-9;]*m//g')
  [ -n "$line" ] || line="(no summary line; exit code $rc)"
  printf '%-10s %s\n' "$name:" "$line" >> "$SUMMARY"
  if [ "$rc" -ne 0 ]; then FAILED_TIERS+=("$name"); fi
}

step "set-up: npm dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || exit 1
else
  echo "node_modules is up to date"
fi

step "set-up: Python test environment"
bash scripts/python-env.sh test || exit 1
PY="$ROOT/.vscode-test/venv-test/bin/python"

step "build"
npm run --silent build || exit 1

run_tier typecheck 'error|Found [0-9]+ error|passed' bash -c 'npm run -s typecheck && echo "typecheck: 2 projects passed, 0 failed"'
run_tier lint '(problems|All matched files|error|passed)' bash -c 'npx eslint . --max-warnings 0 && npx prettier --check . && echo "lint: 1 passed, 0 failed"'
run_tier unit '[0-9]+ (passing|failing|pending)' npx mocha --config test/unit/.mocharc.json
run_tier companion '^# (pass|fail) [0-9]+' node --test examples/companion-backend/
run_tier python '[0-9]+ (passed|failed|error)' "$PY" -m pytest -q -p no:cacheprovider clients/python/tests test/python

if [ -f scripts/setup-vscode.sh ]; then
  step "set-up: code-server and Chromium"
  if bash scripts/setup-vscode.sh; then
    step "package the .vsix"
    if npm run --silent package; then
      run_tier host '[0-9]+ (passing|failing|pending)' node test/host/run.js
      run_tier e2e '[0-9]+ (passing|failing|pending)' npx mocha --config test/e2e/.mocharc.json
    else
      echo "packaging failed"; FAILED_TIERS+=(package)
    fi
  else
    echo "code-server set-up failed"; FAILED_TIERS+=(setup)
  fi
fi

step "summary"
cat "$SUMMARY"
if [ ${#FAILED_TIERS[@]} -gt 0 ]; then
  echo "FAILED tiers: ${FAILED_TIERS[*]}"
  exit 1
fi
echo "all tiers passed"
