#!/usr/bin/env bash
# Load benchmark of `reckon serve` ingest with wrk (apt-get install wrk) on the loopback, against
# PostgreSQL's own COPY of the same rows in the same run (issue 15, acceptance 4).
#
# 1. REPLICAS `reckon serve` processes on one fresh PostgreSQL ledger. One event is stored and
#    the month's accruals queried first, so that the month's sums are made and the load adds to
#    them. One wrk per replica sends batches of EVENTS (default 1,000) new events for DURATION
#    seconds (default 15). New events/s = events stored (counted in the ledger) / the wrk run's
#    seconds. Then the accruals the service answers must count every stored event, the month
#    still fresh.
# 2. The rows the service stored are copied out (COPY TO, not timed) and loaded into a fresh
#    ledger of the same schema (same primary key and index) by PostgreSQL's COPY FROM STDIN:
#    COPY rows/s = rows / COPY seconds. The ratio of the two is printed.
# 3. With REPLICAS=1, single-event posts with latency percentiles.
# Usage: bench/serve_load.sh [POSTGRES_BASE_URL]   (default postgres://postgres@127.0.0.1:5432;
#   databases reckon_bench_serve and reckon_bench_copy are made there, dropped first)
#   REPLICAS=2 bench/serve_load.sh   EVENTS=1000 DURATION=15 NO_BUILD=1
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p reckon-cli
base=${1:-postgres://postgres@127.0.0.1:5432}
replicas=${REPLICAS:-1}
events=${EVENTS:-1000}
duration=${DURATION:-15}
reckon=${RECKON:-$PWD/target/release/reckon}
dir=$(mktemp -d)
servers=()
cleanup() {
    for server in "${servers[@]}"; do kill -TERM "$server" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
for database in reckon_bench_serve reckon_bench_copy; do
    psql -q "$base/test" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"
    psql -q "$base/test" -c "CREATE DATABASE $database"
done
url=$base/reckon_bench_serve
copy_url=$base/reckon_bench_copy
seconds() { python3 -c 'import time; print(f"{time.monotonic():.3f}")'; }

$reckon import rates crates/reckon-cli/tests/fixtures/basic/rates.csv --database-url "$url" >/dev/null
# Customer prices too, so rating on arrival prices both sides and computes the margin.
$reckon import prices crates/reckon-cli/tests/fixtures/rating/prices.csv --database-url "$url" >/dev/null
# The COPY target: the same migrations, so the same table, key and index.
$reckon import rates crates/reckon-cli/tests/fixtures/basic/rates.csv --database-url "$copy_url" >/dev/null
export TOKEN=$($reckon apikey create --scope ingest --database-url "$url")
addresses=()
for replica in $(seq "$replicas"); do
    replica_arguments=()
    [ "$replicas" = 1 ] || replica_arguments=(--replica-id "r$replica")
    $reckon serve --listen 127.0.0.1:0 --database-url "$url" "${replica_arguments[@]}" > "$dir/serve$replica.out" 2>"$dir/serve$replica.err" &
    servers+=($!)
    for _ in $(seq 100); do grep -q listening "$dir/serve$replica.out" && break; sleep 0.1; done
    addresses+=("$(sed -n 's/listening on //p' "$dir/serve$replica.out")")
done
stored() { psql -tA "$url" -c 'SELECT COUNT(*) FROM usage_records'; }
# The load's month (2026-03) made fresh before the load: one event stored, then an accrual query,
# which makes the month's sums. Otherwise the month stays stale (never queried) and every batch
# skips its accrual sums and rollups.
read_token=$($reckon apikey create --scope read --database-url "$url")
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"record_id":"warm-1","service":"voice","carrier":"acme","customer":"cust0","started_at":"2026-03-01T10:00:00Z","destination":"+442000000000","quantity":"60"}' \
    "http://${addresses[0]}/v1/usage"
curl -sf -o /dev/null -H "Authorization: Bearer $read_token" \
    "http://${addresses[0]}/v1/accruals?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=day"
[ -n "$(psql -tA "$url" -c "SELECT rated_with FROM accrual_months WHERE month = '2026-03'")" ] ||
    { echo "the month's accrual sums were not made before the load" >&2; exit 1; }

echo "== $replicas replica(s): batches of $events new events for ${duration}s ($(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg))"
# CPU seconds used so far: the replicas, and every PostgreSQL process (its backends included).
# Clock ticks (user + system) from /proc; PostgreSQL's backends are its processes named postgres.
cpu_of() {
    for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true; done |
        awk -v hz="$(getconf CLK_TCK)" '{ total += $1 } END { printf "%.1f\n", total / hz }'
}
postgres_cpu() { cpu_of $(pgrep -x postgres); }
before=$(stored)
replicas_cpu=$(cpu_of "${servers[@]}")
database_cpu=$(postgres_cpu)
start=$(seconds)
index=0
loads=()
for address in "${addresses[@]}"; do
    index=$((index + 1))
    # PREFIX keeps the ids of the replicas' loads apart.
    PREFIX="r$index" EVENTS=$events wrk -t2 -c4 -d"${duration}s" --latency -s bench/serve_batch.lua "http://$address" > "$dir/wrk$index.out" &
    loads+=($!)
done
wait "${loads[@]}"
end=$(seconds)
after=$(stored)
replicas_cpu=$(python3 -c "print(f'{$(cpu_of "${servers[@]}") - $replicas_cpu:.1f}')")
database_cpu=$(python3 -c "print(f'{$(postgres_cpu) - $database_cpu:.1f}')")
for index in $(seq "$replicas"); do
    echo "-- replica $index"
    sed -n '1,12p' "$dir/wrk$index.out"
done
new=$((after - before))
reckon_rate=$(python3 -c "print(round($new / ($end - $start)))")
# The month is still fresh (the load added to its sums rather than marking them stale), and
# the accruals the service answers from its kept sums count every stored event.
fresh=$(psql -tA "$url" -c "SELECT rated_with IS NOT NULL FROM accrual_months WHERE month = '2026-03'")
kept=$(curl -sf -H "Authorization: Bearer $read_token" -w '\n%{time_total}' \
    "http://${addresses[0]}/v1/accruals?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=carrier" |
    python3 -c 'import json, sys; body, seconds = sys.stdin.read().rsplit("\n", 1); print(sum(group["records"] for group in json.loads(body)["groups"]), f"(query {float(seconds) * 1000:.0f} ms)")')
echo "   accrual sums: $kept events of $after stored in them (month fresh before the query: $fresh)"
echo "   Reckon: $new new events stored in $(python3 -c "print(f'{$end - $start:.1f}')") s = $reckon_rate events/s"

echo "== PostgreSQL's own COPY of the same $new rows into an empty ledger of the same schema"
columns="record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, destination, quantity, network, status, content_sha256, batch_id"
psql -q "$url" -c "\\copy (SELECT $columns FROM usage_records) TO '$dir/rows.copy'"
start=$(seconds)
psql -q "$copy_url" -c "\\copy usage_records ($columns) FROM '$dir/rows.copy'"
end=$(seconds)
copy_rate=$(python3 -c "print(round($new / ($end - $start)))")
echo "   COPY: $new rows in $(python3 -c "print(f'{$end - $start:.2f}')") s = $copy_rate rows/s"
echo "== ratio Reckon / COPY: $(python3 -c "print(f'{$reckon_rate / $copy_rate:.2f}')")"
echo "   CPU seconds during the load: replicas $replicas_cpu, PostgreSQL $database_cpu, of $(( $(nproc) * duration )) on $(nproc) cores (load now $(cut -d' ' -f1-3 /proc/loadavg))"

if [ "$replicas" = 1 ]; then
    echo "== single events"
    PREFIX=single EVENTS=1 wrk -t2 -c8 -d10s --latency -s bench/serve_batch.lua "http://${addresses[0]}" | sed -n '1,20p'
fi
