#!/usr/bin/env bash
# Runs Reckon and DuckDB on the same generated files and prints wall time and peak memory of each.
# Usage: bench/compare_duckdb.sh [RECORDS]   (needs `pip install duckdb` and GNU time)
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
dir=${TMPDIR:-/tmp}/reckon-bench-$records
inputs=$dir/inputs
[ -f "$inputs/usage.csv" ] || RECKON_BENCH_RECORDS=$records cargo bench -p reckon-cli --bench reconcile >/dev/null
cargo build --release -q
mkdir -p "$dir/compare"
invoices=()
for file in "$inputs"/invoice-*.csv; do invoices+=(--invoice "$file"); done
echo "== reckon reconcile ($records records)"
/usr/bin/time -f "wall %e s, peak RSS %M KiB, user %U s, sys %S s" ./target/release/reckon reconcile \
  --usage "$inputs/usage.csv" --rates "$inputs/rates.csv" --fx "$inputs/fx.csv" "${invoices[@]}" --out "$dir/compare" --quiet
echo "== duckdb ($(python3 -c 'import duckdb; print(duckdb.__version__)'), same files, simplified rules)"
sed -e "s#INPUTS#$inputs#g" -e "s#OUT#$dir/compare#g" bench/duckdb_reconcile.sql > "$dir/compare/duckdb.sql"
/usr/bin/time -f "wall %e s, peak RSS %M KiB, user %U s, sys %S s" python3 -c "
import duckdb, sys
connection = duckdb.connect()
connection.execute(open(sys.argv[1]).read())
print('duckdb rows:', connection.execute(\"select count(*) from read_csv('$dir/compare/duckdb-discrepancies.csv')\").fetchone()[0])
" "$dir/compare/duckdb.sql"
echo "reckon rows: $(($(wc -l < "$dir/compare/discrepancies.csv") - 1))"
