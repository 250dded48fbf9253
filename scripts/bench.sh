#!/usr/bin/env bash
# Runs every benchmark under bench/ and writes their tables into docs/benchmarks.md.
# Each bench/<name>.bench.{ts,sh} prints a Markdown section (a heading, the command,
# a table with medians and ratios against a peer measured in the same run).
# `npm run bench -- collector` runs only the benches whose name contains "collector";
# `npm run bench -- --report` only rewrites docs/benchmarks.md from the tables already in bench/results/.
set -uo pipefail
cd "$(dirname "$0")/.."
filter=${1:-}
mkdir -p bench/results
if [ "$filter" != --report ]; then
npm run --silent build || exit 1
bash scripts/python-env.sh test || exit 1
for f in bench/*.bench.ts bench/*.bench.sh; do
  [ -e "$f" ] || continue
  name=$(basename "$f" | sed 's/\.bench\..*//')
  if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then continue; fi
  echo "== bench: $name"
  case "$f" in
    *.ts) npx tsx "$f" > "bench/results/$name.md.tmp" ;;
    *.sh) bash "$f" > "bench/results/$name.md.tmp" ;;
  esac
  if [ $? -eq 0 ]; then
    printf '\n_Measured %s on %s cores, %s._\n' "$(date -u +%Y-%m-%d)" "$(nproc)" "$(node --version)" >> "bench/results/$name.md.tmp"
    mv "bench/results/$name.md.tmp" "bench/results/$name.md"; cat "bench/results/$name.md"
  else echo "bench $name failed; its previous table is kept" >&2; fi
done
fi
{
  echo "# Benchmarks"
  echo
  echo "Written by \`npm run bench\` (\`npm run bench -- <name>\` reruns one; each table says when and where it was measured)."
  echo "Machines here are shared and noisy: read medians and the ratios against a peer measured in the same run, not absolute numbers."
  for r in bench/results/*.md; do [ -e "$r" ] && { echo; cat "$r"; }; done
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md"
