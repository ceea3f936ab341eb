#!/usr/bin/env bash
# Times the console's run page over a run of about 100,000 discrepancies (issue 16: under 200 ms
# a page): a generated month of one carrier with a tenth of its records given a planted
# discrepancy, imported into a SQLite ledger and reconciled, then `reckon serve` and curl.
# Prints the first (cold: the page read from the ledger, the run read in the background) request and the first use of each order
# (sorted once per run), then the median and p95 of 20 requests cycling through the page's uses: the first page, a far page, a kind filter, the
# largest differences first, a destination prefix with an amount range.
#
# Usage: bench/console_page.sh [RECORDS]    (default 1000000: about 100k discrepancies)
#   RECKON_BIN=path/to/reckon               the binary (default: this tree's release build)
#   RECKON_BENCH_DIR=folder                 where the month and the ledger go
#                                           (default: $TMPDIR or /tmp, reckon-console-bench-RECORDS)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
dir=${RECKON_BENCH_DIR:-${TMPDIR:-/tmp}/reckon-console-bench-$records}
if [ -z "${RECKON_BIN:-}" ]; then
  cargo build --release -q -p reckon-cli
  RECKON_BIN=${CARGO_TARGET_DIR:-target}/release/reckon
fi
inputs=$dir/inputs
data=$dir/ledger
if [ ! -f "$data/run_id" ]; then
  rm -rf "$inputs" "$data" && mkdir -p "$data"
  "$RECKON_BIN" generate --records "$records" --carriers 1 --discrepancies-per-mille 100 --out "$inputs" >/dev/null
  "$RECKON_BIN" import usage "$inputs/usage.csv" --data-dir "$data" >/dev/null
  "$RECKON_BIN" import rates "$inputs/rates.csv" --data-dir "$data" >/dev/null
  for invoice in "$inputs"/invoice-*.csv; do
    "$RECKON_BIN" import invoice "$invoice" --data-dir "$data" >/dev/null
  done
  "$RECKON_BIN" reconcile --carrier acme --period 2026-03 --data-dir "$data" | tee "$data/reconciled.txt" |
    awk '{print $2; exit}' > "$data/run_id"
fi
run_id=$(cat "$data/run_id")
key=$("$RECKON_BIN" apikey create --scope read --data-dir "$data")
echo "== $(head -n 1 "$data/reconciled.txt")"
echo "load: $(uptime)"

"$RECKON_BIN" serve --listen 127.0.0.1:0 --data-dir "$data" > "$dir/serve.out" 2> "$dir/serve.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q '^listening on' "$dir/serve.out" 2>/dev/null && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$dir/serve.out")
# The service's start-up work (its first alert and accrual checks over the month's million
# records) holds the one SQLite connection for a few seconds: the console's first request is
# timed once it is done (RECKON_BENCH_SETTLE=0 times it at once).
sleep "${RECKON_BENCH_SETTLE:-15}"
cookies=$dir/cookies.txt
curl -s -o /dev/null -c "$cookies" --data-urlencode "api_key=$key" "http://$address/sign-in"

page() { curl -s -o "$dir/page.html" -w '%{http_code} %{time_total}\n' -b "$cookies" "http://$address/runs/$run_id$1"; }
read -r status cold < <(page "")
[ "$status" = 200 ] || { echo "the run page answered $status" >&2; exit 1; }
echo "shown: $(grep -o '<strong id="discrepancy-count">[0-9]*' "$dir/page.html" | grep -o '[0-9]*$') discrepancies in the run"
echo "first request (cold: the run read from the ledger): $(echo "$cold * 1000" | bc -l | xargs printf '%.1f') ms"

queries=("" "?page=1000" "?kind=rate_mismatch" "?sort=-difference" "?destination=44&min=0.01&max=5&sort=billed")
# Each order is sorted once per run, at its first use: those first uses are printed apart.
for query in "${queries[@]}"; do
  read -r status seconds < <(page "$query")
  echo "first use of ${query:-the first page}: $(echo "$seconds * 1000" | bc -l | xargs printf '%.1f') ms"
done
: > "$dir/times"
for i in $(seq 0 19); do
  read -r status seconds < <(page "${queries[$((i % ${#queries[@]}))]}")
  [ "$status" = 200 ] || { echo "request $i answered $status" >&2; exit 1; }
  echo "$seconds" >> "$dir/times"
done
sort -n "$dir/times" | awk '{ t[NR] = $1 * 1000 } END {
  printf "run page, 20 requests: median %.1f ms, p95 %.1f ms, max %.1f ms\n", (t[10] + t[11]) / 2, t[19], t[20] }'
