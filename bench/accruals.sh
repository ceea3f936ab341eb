#!/usr/bin/env bash
# Benchmark of GET /v1/accruals over a month of stored events in PostgreSQL (issue 15).
#
# Loads N generated events (default 10M) through the ledger's bulk path (`reckon import usage`:
# COPY into PostgreSQL), which marks the month stale; the first query then makes the month's
# sums by the same code path any stale month takes (its events read once, rated in chunks).
# Then it times 20 queries of each shape (the month and a day; by day, service, carrier,
# customer and destination; without filter, by one carrier, by one customer; curl, median, p95
# and max) and prints the server's resident memory before and after them.
# Usage: bench/accruals.sh [N] [POSTGRES_BASE_URL]
#   N defaults to 10000000; the base URL to postgres://postgres@127.0.0.1:5432 (a database
#   reckon_bench_accruals is created there, dropped first).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-10000000}
base=${2:-postgres://postgres@127.0.0.1:5432}
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p reckon-cli
reckon=$PWD/target/release/reckon
dir=$(mktemp -d)
database=reckon_bench_accruals
psql -q "$base/test" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
url="$base/$database"
server=
trap '[ -n "$server" ] && kill -TERM $server 2>/dev/null; rm -rf "$dir"' EXIT

seconds() { python3 -c 'import sys,time; print(f"{time.monotonic():.3f}")'; }
elapsed() { python3 -c "print(f'{$2 - $1:.1f}')"; }

echo "== generating $records events (2026-03)"
start=$(seconds)
$reckon generate --out "$dir/gen" --records "$records" --seed 1 >/dev/null
echo "   $(elapsed "$start" "$(seconds)") s"
$reckon import rates "$dir/gen/rates.csv" --database-url "$url" >/dev/null
$reckon import prices "$dir/gen/prices.csv" --database-url "$url" >/dev/null
echo "== loading them (reckon import usage: COPY into PostgreSQL)"
start=$(seconds)
$reckon import usage "$dir/gen/usage.csv" --database-url "$url" >/dev/null
echo "   $(elapsed "$start" "$(seconds)") s"
rm -f "$dir/gen/usage.csv" "$dir"/gen/invoice-*.csv
token=$($reckon apikey create --scope read --database-url "$url")

$reckon serve --listen 127.0.0.1:0 --database-url "$url" --fx "$dir/gen/fx.csv" > "$dir/serve.out" &
server=$!
for _ in $(seq 100); do grep -q listening "$dir/serve.out" && break; sleep 0.1; done
address=$(sed -n 's/listening on //p' "$dir/serve.out")
rss() { awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$server/status"; }

echo "== first query: the stale month's sums made from its $records events"
echo "   server RSS before: $(rss)"
start=$(seconds)
# A rebuild longer than the request limit (30 s) goes on after the request's timeout: ask again
# until the answer comes.
until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    "http://$address/v1/accruals?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=day")" = 200 ]; do :; done
echo "   $(elapsed "$start" "$(seconds)") s; server RSS after: $(rss)"

report() {
    sort -n | awk '{ times[NR] = $1 } END { p95 = int(NR * 0.95 + 0.999); if (p95 > NR) p95 = NR;
        printf "   median %.1f ms, p95 %.1f ms, max %.1f ms over %d runs\n", times[int((NR + 1) / 2)] * 1000, times[p95] * 1000, times[NR] * 1000, NR }'
}
carrier=$(psql -tA "$url" -c 'SELECT carrier FROM usage_records LIMIT 1')
customer=$(psql -tA "$url" -c 'SELECT customer FROM usage_records WHERE customer IS NOT NULL LIMIT 1')
day="2026-03-15T00:00:00Z 2026-03-16T00:00:00Z"
month="2026-03-01T00:00:00Z 2026-04-01T00:00:00Z"
echo "== 20 queries per shape, sums kept (server RSS before: $(rss))"
for shape in "$month day" "$month day carrier=$carrier" "$month day customer=$customer" \
    "$month service" "$month service carrier=$carrier" "$month carrier" "$month customer" \
    "$month customer carrier=$carrier" "$day day" "$day destination" "$day destination carrier=$carrier" \
    "$day destination customer=$customer" "$month destination"; do
    set -- $shape
    filter=${4:+&$4}
    path="/v1/accruals?from=$1&to=$2&group_by=$3$filter"
    echo "-- $1 to $2 by $3 ${4:-} ($(curl -s -H "Authorization: Bearer $token" "http://$address$path" | grep -o '"key"' | wc -l) groups)"
    for _ in $(seq 20); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $token" "http://$address$path"
    done | report
done
echo "   server RSS after: $(rss)"
echo "== stored: $(psql -tA "$url" -c 'SELECT COUNT(*) FROM usage_records') events, $(psql -tA "$url" -c 'SELECT COUNT(*) FROM accrual_sums') sum rows, $(psql -tA "$url" -c 'SELECT COUNT(*) FROM accrual_rollups') rollup rows"
echo "   load: $(cut -d' ' -f1-3 /proc/loadavg)"
