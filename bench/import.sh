#!/usr/bin/env bash
# Times `reckon import usage` of one generated file into SQLite and into PostgreSQL, and
# PostgreSQL's own `\copy` of the same file into a plain table of the file's columns (no keys,
# no indexes: the floor the issue measures against), then prints rows/s of each and the ratios.
#
# Usage: bench/import.sh [RECORDS]       (default 1000000)
#   RECKON_BIN=path/to/reckon            the binary to time (default: this tree's release build)
#   RECKON_BENCH_POSTGRES_URL=postgres://user@host:port/db   a database to create the bench one from
# The file is the reconcile benchmark's (`cargo bench -p reckon-cli --bench reconcile`), made once
# in a folder of this script's own.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
dir=${TMPDIR:-/tmp}/reckon-import-bench-$records
usage=$dir/inputs/usage.csv
[ -f "$usage" ] || RECKON_BENCH_DIR=$dir RECKON_BENCH_RECORDS=$records cargo bench -p reckon-cli --bench reconcile >/dev/null
if [ -z "${RECKON_BIN:-}" ]; then
  cargo build --release -q -p reckon-cli
  RECKON_BIN=${CARGO_TARGET_DIR:-target}/release/reckon
fi
base=${RECKON_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
database=reckon_bench_import
url=${base%/*}/$database
rows=$(($(wc -l < "$usage") - 1))
work=$dir/import
rm -rf "$work" && mkdir -p "$work"
head -n 1 "$usage" > "$work/header-only.csv"

# Seconds (3 decimals) a command takes; its output goes to $work/last.log.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" > "$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l | xargs printf '%.3f'
}
rate() { echo "$rows / $1" | bc -l | xargs printf '%.0f'; }
peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }

fresh_postgres() {
  psql -q "$base" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
}

echo "== $rows usage records, $(du -h "$usage" | cut -f1) of CSV ($usage); binary $RECKON_BIN"

# SQLite: the schema is made first (an import of no rows), so that only the import is timed.
"$RECKON_BIN" import usage "$work/header-only.csv" --data-dir "$work/sqlite" > /dev/null 2>&1
sqlite_s=$(seconds "$RECKON_BIN" import usage "$usage" --data-dir "$work/sqlite")
tail -n 1 "$work/last.log"
echo "reckon import usage, SQLite:      ${sqlite_s} s, $(rate "$sqlite_s") rows/s"

fresh_postgres
"$RECKON_BIN" import usage "$work/header-only.csv" --database-url "$url" > /dev/null 2>&1
postgres_s=$(seconds "$RECKON_BIN" import usage "$usage" --database-url "$url")
tail -n 1 "$work/last.log"
echo "reckon import usage, PostgreSQL:  ${postgres_s} s, $(rate "$postgres_s") rows/s"
again_s=$(seconds "$RECKON_BIN" import usage "$usage" --database-url "$url")
echo "  the same file again (no-op):    ${again_s} s ($(tail -n 1 "$work/last.log"))"

psql -q "$url" -c "CREATE TABLE usage_records_plain (record_id TEXT, service TEXT, carrier TEXT, carrier_ref TEXT,
  customer TEXT, started_at TIMESTAMPTZ, origin TEXT, destination TEXT, quantity NUMERIC(38, 12), network TEXT)"
copy_s=$(seconds psql -q "$url" -c "\\copy usage_records_plain FROM '$usage' CSV HEADER")
echo "psql \\copy into a plain table:    ${copy_s} s, $(rate "$copy_s") rows/s"
echo "ratio to \\copy: PostgreSQL import $(echo "$postgres_s / $copy_s" | bc -l | xargs printf '%.2f')x," \
  "SQLite import $(echo "$sqlite_s / $copy_s" | bc -l | xargs printf '%.2f')x the time"

# Peak memory of a PostgreSQL import (a fresh database, same file).
fresh_postgres
"$RECKON_BIN" import usage "$work/header-only.csv" --database-url "$url" > /dev/null 2>&1
echo "peak RSS of the PostgreSQL import: $(peak "$RECKON_BIN" import usage "$usage" --database-url "$url") KiB"
psql -q "$base" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)"
