#!/usr/bin/env bash
# Times `reckon import usage` of one generated file into SQLite and into PostgreSQL, and
# PostgreSQL's own `\copy` of the same file into a plain table of the file's columns (no keys,
# no indexes: the floor the issue measures against), then prints rows/s of each and the ratios,
# with the CPU time and peak RSS of each command.
#
# Usage: bench/import.sh [RECORDS]       (default 1000000)
#   RECKON_BIN=path/to/reckon            the binary to time (default: this tree's release build)
#   RECKON_BENCH_DIR=folder              where the generated month and the ledgers go
#                                        (default: $TMPDIR or /tmp, reckon-import-bench-RECORDS)
#   RECKON_BENCH_POSTGRES_URL=postgres://user@host:port/db   a database to create the bench one from
# The file is `reckon generate --records RECORDS`'s, made once in the folder. The machine may be
# shared: the load is printed first, and CPU time (user + system) beside the wall time. The CPU
# time is the client's: for PostgreSQL the server's work is not in it (nor in psql's).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
dir=${RECKON_BENCH_DIR:-${TMPDIR:-/tmp}/reckon-import-bench-$records}
if [ -z "${RECKON_BIN:-}" ]; then
  cargo build --release -q -p reckon-cli
  RECKON_BIN=${CARGO_TARGET_DIR:-target}/release/reckon
fi
usage=$dir/inputs/usage.csv
[ -f "$usage" ] || "$RECKON_BIN" generate --records "$records" --out "$dir/inputs" >/dev/null
base=${RECKON_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
database=reckon_bench_import
url=${base%/*}/$database
rows=$(($(wc -l < "$usage") - 1))
work=$dir/import
rm -rf "$work" && mkdir -p "$work"
head -n 1 "$usage" > "$work/header-only.csv"

# Runs a command under /usr/bin/time (its output to $work/last.log) and sets `wall` (s), `cpu`
# (user + system s) and `rss` (peak KiB).
measure() {
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }
  read -r wall user system rss < <(tail -n 1 "$work/time")
  cpu=$(echo "$user + $system" | bc -l | xargs printf '%.2f')
}
rate() { echo "$rows / $1" | bc -l | xargs printf '%.0f'; }
report() { echo "$1 ${wall} s wall, ${cpu} s CPU, $(rate "$wall") rows/s, peak RSS $((rss / 1024)) MiB"; }

fresh_postgres() {
  psql -q "$base" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
}

echo "== $rows usage records, $(du -h "$usage" | cut -f1) of CSV ($usage); binary $RECKON_BIN"
echo "load: $(uptime)"

# SQLite: the schema is made first (an import of no rows), so that only the import is timed.
"$RECKON_BIN" import usage "$work/header-only.csv" --data-dir "$work/sqlite" > /dev/null 2>&1
measure "$RECKON_BIN" import usage "$usage" --data-dir "$work/sqlite"
sqlite_s=$wall
tail -n 1 "$work/last.log"
report "reckon import usage, SQLite:     "
rm -rf "$work/sqlite"

fresh_postgres
"$RECKON_BIN" import usage "$work/header-only.csv" --database-url "$url" > /dev/null 2>&1
measure "$RECKON_BIN" import usage "$usage" --database-url "$url"
postgres_s=$wall
tail -n 1 "$work/last.log"
report "reckon import usage, PostgreSQL: "
measure "$RECKON_BIN" import usage "$usage" --database-url "$url"
report "  the same file again (no-op):   "
tail -n 1 "$work/last.log"

psql -q "$url" -c "CREATE TABLE usage_records_plain (record_id TEXT, service TEXT, carrier TEXT, carrier_ref TEXT,
  customer TEXT, started_at TIMESTAMPTZ, origin TEXT, destination TEXT, quantity NUMERIC(38, 12), network TEXT)"
measure psql -q "$url" -c "\\copy usage_records_plain FROM '$usage' CSV HEADER"
copy_s=$wall
report "psql \\copy into a plain table:   "
echo "ratio to \\copy: PostgreSQL import $(echo "$postgres_s / $copy_s" | bc -l | xargs printf '%.2f')x," \
  "SQLite import $(echo "$sqlite_s / $copy_s" | bc -l | xargs printf '%.2f')x the time"
echo "load: $(uptime)"
psql -q "$base" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"
