#!/usr/bin/env bash
# Load benchmark of `reckon serve` with wrk (apt-get install wrk) on the loopback: sustained
# ingest in batches of 1,000 new events, then single-event posts with latency percentiles.
# Usage: bench/serve_load.sh [DATABASE_URL]   (default: a fresh SQLite file)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
dir=$(mktemp -d)
url=${1:-sqlite://$dir/ledger.db}
reckon=./target/release/reckon
$reckon import rates crates/reckon-cli/tests/fixtures/basic/rates.csv --database-url "$url" >/dev/null
# Customer prices too, so rating on arrival prices both sides and computes the margin.
$reckon import prices crates/reckon-cli/tests/fixtures/rating/prices.csv --database-url "$url" >/dev/null
export TOKEN=$($reckon apikey create --scope ingest --database-url "$url")
$reckon serve --listen 127.0.0.1:0 --database-url "$url" > "$dir/serve.out" &
server=$!
trap 'kill -TERM $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do grep -q listening "$dir/serve.out" && break; sleep 0.1; done
address=$(sed -n 's/listening on //p' "$dir/serve.out")
echo "== batches of 1000 new events ($url)"
EVENTS=1000 wrk -t2 -c4 -d15s --latency -s bench/serve_batch.lua "http://$address" | sed -n '1,20p'
echo "== single events"
EVENTS=1 wrk -t2 -c8 -d10s --latency -s bench/serve_batch.lua "http://$address" | sed -n '1,20p'
