#!/usr/bin/env python3
"""Runs bench/duckdb_reconcile.sql (the full reconciliation in DuckDB SQL) and compares results.

  duckdb_reconcile.py run --format csv|parquet --usage U --rates R --fx F --contracts C \\
      --out OUT.csv INVOICE...
      Writes carrier,invoice_id,line_id,record_id,kind,difference to OUT.csv. Python only
      substitutes the file names and repeats the matching round until every line is resolved.
  duckdb_reconcile.py to-parquet CSV PARQUET
      Converts a usage or invoice file to Parquet with DuckDB's COPY: quantities, rates and
      amounts as DECIMAL(38, 12), instants as TIMESTAMPTZ, dates as DATE, empty text as NULL.
  duckdb_reconcile.py compare RECKON_DISCREPANCIES.csv DUCKDB_OUT.csv
      Prints count and total difference per kind for both, and the rows found by only one;
      exits 1 when they differ.
"""
import argparse
import os
import sys
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))

# fixed12(x): an exact count of 10^-12 units (HUGEINT) from a CSV text field or a Parquet decimal.
FIXED12 = {
    "csv": "CREATE MACRO fixed12(x) AS CAST(CAST(NULLIF(x, '') AS DECIMAL(38, 12)) * 1000000000000 AS HUGEINT);",
    "parquet": "CREATE MACRO fixed12(x) AS CAST(CAST(x AS DECIMAL(38, 12)) * 1000000000000 AS HUGEINT);",
}


def quote(path):
    return "'" + path.replace("'", "''") + "'"


def source(form, paths):
    listed = "[" + ", ".join(quote(path) for path in paths) + "]"
    if form == "csv":
        return f"read_csv({listed}, header = true, all_varchar = true, union_by_name = true)"
    return f"read_parquet({listed}, union_by_name = true)"


def run(arguments):
    with open(os.path.join(HERE, "duckdb_reconcile.sql")) as file:
        text = file.read()
    values = {
        "usage_source": source(arguments.format, [arguments.usage]),
        "invoice_source": source(arguments.format, arguments.invoices),
        "rates": arguments.rates,
        "fx": arguments.fx,
        "contracts": arguments.contracts,
        "out": arguments.out,
    }
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    setup, rest = text.split("-- @round\n")
    matching_round, finish = rest.split("-- @finish\n")
    connection = duckdb.connect()
    connection.execute(FIXED12[arguments.format])
    started = time.monotonic()
    connection.execute(setup)
    rounds = 0
    while connection.execute("SELECT count(*) FROM open_pairs").fetchone()[0] > 0:
        connection.execute(matching_round)
        rounds += 1
    connection.execute(finish)
    rows = connection.execute(f"SELECT count(*) FROM read_csv({quote(arguments.out)})").fetchone()[0]
    print(f"duckdb {duckdb.__version__}: {rows} discrepancies, {rounds} matching rounds, "
          f"{time.monotonic() - started:.2f} s", file=sys.stderr)


def to_parquet(arguments):
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    with open(arguments.csv) as file:
        columns = file.readline().strip().split(",")
    kinds = {"quantity": "DECIMAL(38, 12)", "rate": "DECIMAL(38, 12)", "amount": "DECIMAL(38, 12)",
             "started_at": "TIMESTAMPTZ", "invoice_date": "DATE"}
    select = ", ".join(
        f"CAST(NULLIF({column}, '') AS {kinds[column]}) AS {column}" if column in kinds
        else f"NULLIF({column}, '') AS {column}" for column in columns)
    connection.execute(
        f"COPY (SELECT {select} FROM read_csv({quote(arguments.csv)}, header = true, all_varchar = true)) "
        f"TO {quote(arguments.parquet)} (FORMAT parquet)")


def compare(arguments):
    connection = duckdb.connect()
    connection.execute(FIXED12["csv"])
    for name, path in (("reckon", arguments.reckon), ("duckdb", arguments.duckdb)):
        connection.execute(
            f"CREATE TABLE {name} AS SELECT carrier, coalesce(line_id, '') AS line_id, "
            f"coalesce(record_id, '') AS record_id, kind, fixed12(difference) AS difference "
            f"FROM read_csv({quote(path)}, header = true, all_varchar = true)")
    table = connection.execute("""
        WITH r AS (SELECT kind, count(*) AS n, coalesce(sum(difference), 0) AS total FROM reckon GROUP BY kind),
             d AS (SELECT kind, count(*) AS n, coalesce(sum(difference), 0) AS total FROM duckdb GROUP BY kind)
        SELECT coalesce(r.kind, d.kind), coalesce(r.n, 0), coalesce(d.n, 0),
               coalesce(r.total, 0), coalesce(d.total, 0)
        FROM r FULL JOIN d ON r.kind = d.kind ORDER BY 1""").fetchall()
    only = connection.execute("""
        SELECT (SELECT count(*) FROM (SELECT * FROM reckon EXCEPT ALL SELECT * FROM duckdb)),
               (SELECT count(*) FROM (SELECT * FROM duckdb EXCEPT ALL SELECT * FROM reckon))""").fetchone()

    def money(units):
        sign = "-" if units < 0 else ""
        whole, fraction = divmod(abs(units), 10**12)
        return f"{sign}{whole}.{fraction:012d}".rstrip("0").rstrip(".")

    print(f"{'kind':<18} | {'reckon count':>12} | {'duckdb count':>12} | {'reckon total':>16} | "
          f"{'duckdb total':>16} |")
    same = True
    for kind, reckon_count, duckdb_count, reckon_total, duckdb_total in table:
        verdict = "OK" if (reckon_count, reckon_total) == (duckdb_count, duckdb_total) else "DIFF"
        same = same and verdict == "OK"
        print(f"{kind:<18} | {reckon_count:>12} | {duckdb_count:>12} | {money(reckon_total):>16} | "
              f"{money(duckdb_total):>16} | {verdict}")
    print(f"rows (carrier, line, record, kind, difference) only in reckon: {only[0]}, only in duckdb: {only[1]}")
    return 0 if same and only == (0, 0) else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    for name in ("usage", "rates", "fx", "contracts", "out"):
        run_parser.add_argument("--" + name, required=True)
    run_parser.add_argument("invoices", nargs="+")
    parquet_parser = commands.add_parser("to-parquet")
    parquet_parser.add_argument("csv")
    parquet_parser.add_argument("parquet")
    compare_parser = commands.add_parser("compare")
    compare_parser.add_argument("reckon")
    compare_parser.add_argument("duckdb")
    arguments = parser.parse_args()
    if arguments.command == "run":
        run(arguments)
        return 0
    if arguments.command == "to-parquet":
        to_parquet(arguments)
        return 0
    return compare(arguments)


if __name__ == "__main__":
    sys.exit(main())
