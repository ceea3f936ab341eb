-- What a user would write instead of Reckon: load the same CSVs into DuckDB and reconcile in SQL.
-- Rating by longest prefix (prefix expansion + equi-join), increments, connect fee, minimum;
-- matching by carrier_ref, else by destination within 60 s (nearest); classification by CASE.
-- It approximates Reckon's rules (no one-to-one sequential matching, no duplicate detection by
-- taken records, no currency conversion), so it does less work than Reckon does. Run by
-- bench/compare_duckdb.sh.
CREATE TABLE usage AS SELECT * FROM read_csv('INPUTS/usage.csv', header=true, all_varchar=true);
CREATE TABLE rates AS SELECT * FROM read_csv('INPUTS/rates.csv', header=true, all_varchar=true);
CREATE TABLE invoice AS SELECT * FROM read_csv('INPUTS/invoice-*.csv', header=true, all_varchar=true, union_by_name=true);

CREATE TABLE u AS
SELECT record_id, carrier, NULLIF(carrier_ref, '') AS carrier_ref, service,
       CAST(started_at AS TIMESTAMPTZ) AS started_at,
       regexp_replace(regexp_replace(destination, '[^0-9]', '', 'g'), '^00', '') AS digits,
       CAST(quantity AS DECIMAL(18,6)) AS quantity
FROM usage;

CREATE TABLE r AS
SELECT carrier, service, prefix, CAST(rate AS DECIMAL(18,6)) AS rate, currency,
       CAST(rate_unit AS DECIMAL(18,6)) AS rate_unit,
       CAST(split_part(increments, '/', 1) AS DECIMAL(18,6)) AS inc_first,
       CAST(split_part(increments, '/', 2) AS DECIMAL(18,6)) AS inc_next,
       CAST(connect_fee AS DECIMAL(18,6)) AS connect_fee, CAST(min_charge AS DECIMAL(18,6)) AS min_charge,
       CAST(effective_from AS TIMESTAMPTZ) AS effective_from, CAST(NULLIF(effective_to, '') AS TIMESTAMPTZ) AS effective_to
FROM rates;

CREATE TABLE rated AS
WITH candidates AS (
  SELECT u.*, r.rate, r.currency, r.rate_unit, r.inc_first, r.inc_next, r.connect_fee, r.min_charge,
         row_number() OVER (PARTITION BY u.record_id ORDER BY length(r.prefix) DESC, r.effective_from DESC) AS rank
  FROM u, range(1, 16) AS p(n)
  JOIN r ON r.carrier = u.carrier AND r.service = u.service AND r.prefix = substr(u.digits, 1, CAST(p.n AS INTEGER))
  WHERE p.n <= length(u.digits) AND r.effective_from <= u.started_at AND (r.effective_to IS NULL OR u.started_at < r.effective_to)
)
SELECT *,
  CASE WHEN quantity = 0 THEN 0 WHEN quantity <= inc_first THEN inc_first
       ELSE inc_first + ceil((quantity - inc_first) / inc_next) * inc_next END AS billed_quantity
FROM candidates WHERE rank = 1;

CREATE TABLE costed AS
SELECT *, CASE WHEN quantity = 0 THEN 0 ELSE round(greatest(connect_fee + rate * billed_quantity / rate_unit, min_charge), 6) END AS cost
FROM rated;

CREATE TABLE lines AS
SELECT carrier, invoice_id, line_id, NULLIF(carrier_ref, '') AS carrier_ref, service,
       CAST(started_at AS TIMESTAMPTZ) AS started_at, destination AS digits,
       CAST(quantity AS DECIMAL(18,6)) AS quantity, CAST(NULLIF(rate, '') AS DECIMAL(18,6)) AS rate,
       CAST(amount AS DECIMAL(18,6)) AS amount, currency
FROM invoice;

CREATE TABLE matched AS
SELECT l.*, c.record_id, c.billed_quantity AS expected_quantity, c.cost AS expected_amount, c.rate AS contract_rate, c.currency AS contract_currency
FROM lines l LEFT JOIN costed c ON c.carrier = l.carrier AND c.carrier_ref = l.carrier_ref
WHERE l.carrier_ref IS NOT NULL
UNION ALL
SELECT * EXCLUDE (rank) FROM (
  SELECT l.*, c.record_id, c.billed_quantity, c.cost, c.rate, c.currency,
         row_number() OVER (PARTITION BY l.carrier, l.invoice_id, l.line_id
                            ORDER BY abs(epoch(l.started_at) - epoch(c.started_at))) AS rank
  FROM lines l LEFT JOIN costed c ON c.carrier = l.carrier AND c.service = l.service AND c.digits = l.digits
       AND c.started_at BETWEEN l.started_at - INTERVAL 60 SECOND AND l.started_at + INTERVAL 60 SECOND
  WHERE l.carrier_ref IS NULL
) WHERE rank = 1;

COPY (
  SELECT carrier, invoice_id, line_id, record_id,
    CASE WHEN record_id IS NULL THEN 'unmatched_charge'
         WHEN expected_amount IS NULL THEN 'no_rate'
         WHEN quantity <> expected_quantity THEN 'quantity_mismatch'
         WHEN currency <> contract_currency THEN 'currency_mismatch'
         WHEN rate IS NOT NULL AND rate <> contract_rate THEN 'rate_mismatch'
         WHEN abs(amount - expected_amount) > 0.000001 THEN 'amount_mismatch' END AS kind,
    amount - expected_amount AS difference
  FROM matched
  WHERE record_id IS NULL OR expected_amount IS NULL OR quantity <> expected_quantity OR currency <> contract_currency
     OR (rate IS NOT NULL AND rate <> contract_rate) OR abs(amount - expected_amount) > 0.000001
  UNION ALL
  SELECT c.carrier, NULL, NULL, c.record_id, 'unbilled_usage', -c.cost
  FROM costed c ANTI JOIN matched m ON m.record_id = c.record_id
  WHERE c.cost > 0
) TO 'OUT/duckdb-discrepancies.csv' (HEADER);
