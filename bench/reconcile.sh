#!/usr/bin/env bash
# Reckon against the full reconciliation in DuckDB SQL, on the same generated files.
#
# Usage: bench/reconcile.sh [RECORDS]        (default 1000000; 10m, 10_000_000 work too)
#        SEED=2 bench/reconcile.sh 100000    (another seed)
#
# 1. Builds the release binary and runs `reckon generate --records RECORDS` into
#    ${TMPDIR:-/tmp}/reckon-bench-RECORDS/inputs (4 carriers, ~21,500-prefix decks, ~1% planted
#    discrepancies of every kind, EUR/USD/GBP, four invoice layouts); kept for the next run with
#    the same records, seed and generator sources.
# 2. Creates a Python venv in target/bench-venv with DuckDB from PyPI (once), and converts usage
#    and invoices to Parquet with DuckDB's COPY (decimals as DECIMAL(38,12)).
# 3. For CSV, then Parquet input: runs `reckon reconcile` and bench/duckdb_reconcile.sql (the
#    same rules in SQL: longest-prefix rating with increments, FX, greedy one-to-one matching
#    by reference then nearest time, every discrepancy kind), each under /usr/bin/time, checks
#    that both give the same rows, counts and totals per kind, and prints wall seconds, peak RSS
#    and the ratio duckdb time / reckon time. Parquet is skipped, saying so, when this reckon
#    does not read Parquet.
#
# Exits 1 when the two disagree. Needs python3 (venv), GNU time (/usr/bin/time) and disk: about
# 190 MB of CSV per million records, plus the Parquet copies and the outputs.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
seed=${SEED:-1}
cargo build --release -q -p reckon-cli
reckon=$PWD/target/release/reckon
dir=${TMPDIR:-/tmp}/reckon-bench-$records
inputs=$dir/inputs
stamp="records=$records seed=$seed generator=$(cat crates/reckon-sim/src/*.rs | sha1sum | cut -c1-12)"
if [ "$(cat "$inputs/.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$dir"
  "$reckon" generate --out "$inputs" --records "$records" --seed "$seed"
  echo "$stamp" > "$inputs/.stamp"
else
  echo "inputs: $inputs (already generated: $stamp)"
fi

venv=$PWD/target/bench-venv
if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb
fi
python=$venv/bin/python
sql=bench/duckdb_reconcile.py
echo "duckdb $("$python" -c 'import duckdb; print(duckdb.__version__)'), reckon $("$reckon" --version | cut -d' ' -f2), $(nproc) cores"

invoices=()
for file in "$inputs"/invoice-*.csv; do invoices+=("$file"); done
parquet=$dir/parquet
if [ ! -f "$parquet/.done" ]; then
  mkdir -p "$parquet"
  "$python" "$sql" to-parquet "$inputs/usage.csv" "$parquet/usage.parquet"
  for file in "${invoices[@]}"; do
    "$python" "$sql" to-parquet "$file" "$parquet/$(basename "$file" .csv).parquet"
  done
  touch "$parquet/.done"
fi

# timed LABEL COMMAND...: runs it under GNU time; "wall_s peak_kib user_s system_s" lands in
# $dir/LABEL.time.
timed() {
  local label=$1
  shift
  /usr/bin/time -f '%e %M %U %S' -o "$dir/$label.time" "$@"
}

status=0
summary=()
# run_format FORMAT USAGE INVOICE...: both engines on the same files, then the comparison.
run_format() {
  local format=$1 usage=$2
  shift 2
  local invoice_flags=()
  for file in "$@"; do invoice_flags+=(--invoice "$file"); done
  local out=$dir/reckon-$format
  rm -rf "$out"
  echo "== $format: reckon reconcile"
  timed "reckon-$format" "$reckon" reconcile --usage "$usage" --rates "$inputs/rates.csv" --fx "$inputs/fx.csv" \
    --contracts "$inputs/contracts.csv" "${invoice_flags[@]}" --out "$out" --quiet
  echo "== $format: duckdb"
  timed "duckdb-$format" "$python" "$sql" run --format "$format" --usage "$usage" --rates "$inputs/rates.csv" \
    --fx "$inputs/fx.csv" --contracts "$inputs/contracts.csv" --out "$dir/duckdb-$format.csv" "$@"
  echo "== $format: same results?"
  if ! "$python" "$sql" compare "$out/discrepancies.csv" "$dir/duckdb-$format.csv"; then
    status=1
  fi
  read -r reckon_s reckon_kib reckon_user reckon_system < "$dir/reckon-$format.time"
  read -r duckdb_s duckdb_kib duckdb_user duckdb_system < "$dir/duckdb-$format.time"
  summary+=("$(awk -v f="$format" -v n="$records" -v rs="$reckon_s" -v rk="$reckon_kib" -v ds="$duckdb_s" -v dk="$duckdb_kib" \
    -v rc="$(echo "$reckon_user + $reckon_system" | bc)" -v dc="$(echo "$duckdb_user + $duckdb_system" | bc)" \
    'BEGIN { printf "%-8s %10s records | reckon %7.2f s (cpu %7.2f s) %6.0f MiB | duckdb %7.2f s (cpu %7.2f s) %6.0f MiB | duckdb/reckon time %5.2fx", f, n, rs, rc, rk / 1024, ds, dc, dk / 1024, ds / rs }')")
}

run_format csv "$inputs/usage.csv" "${invoices[@]}"

parquet_invoices=()
for file in "${invoices[@]}"; do parquet_invoices+=("$parquet/$(basename "$file" .csv).parquet"); done
# Probe on a few rows whether this reckon reads Parquet (another branch adds it).
probe=$dir/parquet-probe
rm -rf "$probe"
mkdir -p "$probe"
head -n 101 "$inputs/usage.csv" > "$probe/usage.csv"
head -n 101 "${invoices[0]}" > "$probe/invoice.csv"
"$python" "$sql" to-parquet "$probe/usage.csv" "$probe/usage.parquet"
"$python" "$sql" to-parquet "$probe/invoice.csv" "$probe/invoice.parquet"
if "$reckon" reconcile --usage "$probe/usage.parquet" --rates "$inputs/rates.csv" --fx "$inputs/fx.csv" \
  --contracts "$inputs/contracts.csv" --invoice "$probe/invoice.parquet" --out "$probe/out" --quiet \
  >/dev/null 2>"$probe/stderr"; then
  run_format parquet "$parquet/usage.parquet" "${parquet_invoices[@]}"
else
  echo "parquet: reckon does not read parquet yet ($(head -c 160 "$probe/stderr"))"
fi

echo "== summary (wall time, peak RSS)"
printf '%s\n' "${summary[@]}"
if [ "$status" -ne 0 ]; then
  echo "RESULTS DIFFER"
fi
exit "$status"
