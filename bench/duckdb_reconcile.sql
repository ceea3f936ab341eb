-- What a capable user would write instead of Reckon: the whole reconciliation of FORMATS.md
-- ("Rating one record", "Matching and discrepancy kinds", FX) in DuckDB SQL, over the same files.
-- Run by bench/duckdb_reconcile.py, which fills in the {placeholders}, defines fixed12() for the
-- input format, and repeats the section between "-- @round" and "-- @finish" until every line is
-- resolved (the greedy one-to-one matching is sequential by nature; Python only drives the loop).
--
-- Money and quantities are exact integers counting 10^-12 units (HUGEINT): DuckDB divides
-- DECIMALs in floating point, which would misround some costs, so every division of the rules
-- (increments, rate per unit, FX) is an integer division rounded as the rules say.
--
-- Not covered (the generated workload does not use them): time bands, origin and network rows,
-- volume tiers, per-record fees, invoice-date and fixed FX policies, the euro's irrevocable rates,
-- a contract's default billed_on (rows carry their own), --period. Tolerances are the defaults (60 s, quantity 0, amount 0.000001), FX staleness 7 days.

SET TimeZone = 'UTC';
SET preserve_insertion_order = true;

-- A destination's digits: punctuation dropped, then a leading 00 when the number had no +.
CREATE MACRO digits(d) AS CASE
    WHEN ltrim(d) LIKE '+%' THEN regexp_replace(d, '[^0-9]', '', 'g')
    ELSE regexp_replace(regexp_replace(d, '[^0-9]', '', 'g'), '^00', '') END;
-- An exact count of 10^-12 units as a plain decimal (no exponent).
CREATE MACRO decimal12(x) AS CASE WHEN x IS NULL THEN NULL ELSE
    (CASE WHEN x < 0 THEN '-' ELSE '' END) || CAST(abs(x) // 1000000000000 AS VARCHAR) || '.'
    || lpad(CAST(abs(x) % 1000000000000 AS VARCHAR), 12, '0') END;

-- Usage, numbered in file order (a table keeps insertion order: rowid).
CREATE TABLE usage_input AS SELECT * FROM {usage_source};
CREATE TABLE usage AS
SELECT rowid AS record_no, record_id, carrier, NULLIF(carrier_ref, '') AS ref, lower(service) AS service,
       CAST(started_at AS TIMESTAMPTZ) AS started_at, digits(destination) AS digits, fixed12(quantity) AS quantity,
       lower(coalesce(CAST(status AS VARCHAR), '')) AS status
FROM usage_input;
DROP TABLE usage_input;

CREATE TABLE rates AS
SELECT carrier, lower(service) AS service, prefix, fixed12(rate) AS rate, upper(currency) AS currency,
       fixed12(coalesce(NULLIF(rate_unit, ''), CASE lower(service) WHEN 'voice' THEN '60' WHEN 'video' THEN '60'
           WHEN 'email' THEN '1000' WHEN 'data' THEN '1048576' ELSE '1' END)) AS unit,
       fixed12(coalesce(NULLIF(split_part(increments, '/', 1), ''), '1')) AS increment_first,
       fixed12(coalesce(NULLIF(split_part(increments, '/', 2), ''), '1')) AS increment_next,
       fixed12(coalesce(NULLIF(connect_fee, ''), '0')) AS connect_fee,
       fixed12(coalesce(NULLIF(min_charge, ''), '0')) AS min_charge,
       CAST(effective_from AS TIMESTAMPTZ) AS effective_from,
       CAST(NULLIF(effective_to, '') AS TIMESTAMPTZ) AS effective_to,
       lower(coalesce(billed_on, '')) = 'delivered' AS on_delivery
FROM read_csv('{rates}', header = true, all_varchar = true);

CREATE TABLE fx AS
SELECT CAST(date AS DATE) AS date, upper(currency) AS currency, fixed12(per_eur) AS per_eur
FROM read_csv('{fx}', header = true, all_varchar = true);

CREATE TABLE contracts AS
SELECT carrier, lower(coalesce(deck_currency_only, 'false')) = 'true' AS deck_currency_only
FROM read_csv('{contracts}', header = true, all_varchar = true);

-- Rating: the longest prefix of the digits with a row in force at the start (then the latest
-- effective_from), probing only the prefix lengths the decks have.
CREATE TABLE best_row AS
SELECT p.record_no, r.rate, r.currency, r.unit, r.increment_first, r.increment_next, r.connect_fee, r.min_charge,
       r.on_delivery
FROM (
    SELECT u.record_no, u.carrier, u.service, u.started_at, left(u.digits, lengths.n) AS prefix
    FROM usage u JOIN (SELECT DISTINCT length(prefix) AS n FROM rates) lengths ON lengths.n <= length(u.digits)
) p
JOIN rates r ON r.carrier = p.carrier AND r.service = p.service AND r.prefix = p.prefix
WHERE r.effective_from <= p.started_at AND (r.effective_to IS NULL OR p.started_at < r.effective_to)
QUALIFY row_number() OVER (PARTITION BY p.record_no ORDER BY length(r.prefix) DESC, r.effective_from DESC) = 1;

-- Billed quantity b = A, or A + ceil((q - A) / B) * B; cost = max(connect_fee + rate * b / unit,
-- min_charge) rounded to 6 places half away from zero (all terms are >= 0), as 10^-12 units.
-- A message whose receipt proves it undelivered, under a row billed on delivery: b = 0, cost 0.
CREATE TABLE rated AS
SELECT record_no, carrier, record_id, started_at, quantity, rate, currency AS deck_currency, billed, undelivered,
       CASE WHEN quantity = 0 OR undelivered THEN 0
            ELSE (2 * greatest(connect_fee * unit + rate * billed, min_charge * unit) + unit * 1000000)
                 // (2 * unit * 1000000) * 1000000 END AS cost
FROM (
    SELECT u.record_no, u.carrier, u.record_id, u.started_at, u.quantity, b.rate, b.currency, b.unit,
           b.connect_fee, b.min_charge,
           coalesce(b.on_delivery AND u.service IN ('sms', 'mms') AND u.status IN ('failed', 'expired', 'rejected'),
                    false) AS undelivered,
           CASE WHEN u.quantity = 0 THEN 0
                WHEN b.on_delivery AND u.service IN ('sms', 'mms') AND u.status IN ('failed', 'expired', 'rejected')
                    THEN 0
                WHEN u.quantity <= b.increment_first THEN b.increment_first
                ELSE b.increment_first
                     + (u.quantity - b.increment_first + b.increment_next - 1) // b.increment_next * b.increment_next
           END AS billed
    FROM usage u LEFT JOIN best_row b USING (record_no)
);
DROP TABLE best_row;

-- Invoice lines in file order, files in the order given (columns by name: layouts differ).
CREATE TABLE lines_input AS SELECT * FROM {invoice_source};
CREATE TABLE lines AS
SELECT rowid AS line_no, carrier, invoice_id, line_id, NULLIF(carrier_ref, '') AS ref, lower(service) AS service,
       CAST(started_at AS TIMESTAMPTZ) AS started_at, digits(destination) AS digits, fixed12(quantity) AS quantity,
       fixed12(rate) AS rate, fixed12(amount) AS amount, upper(currency) AS currency
FROM lines_input;
DROP TABLE lines_input;

-- Candidates of each line, with a preference key (lower is better): by reference before by time
-- (bit 60), then the distance in microseconds (bits 34-59), then usage order (bits 0-33).
CREATE TABLE pairs AS
SELECT l.line_no, u.record_no, u.record_no AS preference
FROM lines l JOIN usage u ON u.carrier = l.carrier AND u.ref = l.ref
UNION ALL
SELECT l.line_no, u.record_no,
       (1::BIGINT << 60) | (abs(epoch_us(u.started_at) - epoch_us(l.started_at)) << 34) | u.record_no
FROM lines l JOIN usage u ON u.carrier = l.carrier AND u.service = l.service AND u.digits = l.digits
WHERE (l.ref IS NULL OR u.ref IS NULL)
  AND u.started_at BETWEEN l.started_at - INTERVAL 60 SECOND AND l.started_at + INTERVAL 60 SECOND;

-- Greedy one-to-one matching in rounds. Every unresolved line proposes its best untaken
-- candidate; a proposal is granted when no earlier unresolved line has that record among its
-- untaken candidates (so no earlier line can still take it, and nothing the line prefers is
-- left): exactly what taking lines one by one in file order gives. The earliest unresolved line
-- is always granted, so every round resolves at least one line.
CREATE TABLE open_pairs AS SELECT * FROM pairs;
CREATE TABLE assigned (line_no BIGINT, record_no BIGINT);
-- @round
CREATE OR REPLACE TABLE granted AS
WITH proposal AS (
    SELECT line_no, min(preference) & ((1::BIGINT << 34) - 1) AS record_no FROM open_pairs GROUP BY line_no
), first_claim AS (
    SELECT record_no, min(line_no) AS line_no FROM open_pairs GROUP BY record_no
)
SELECT p.line_no, p.record_no FROM proposal p JOIN first_claim f ON f.record_no = p.record_no AND f.line_no = p.line_no;
INSERT INTO assigned SELECT line_no, record_no FROM granted;
CREATE OR REPLACE TABLE open_pairs AS
SELECT o.* FROM open_pairs o
ANTI JOIN granted g1 ON g1.line_no = o.line_no
ANTI JOIN granted g2 ON g2.record_no = o.record_no;
-- @finish
-- A line that took nothing is a duplicate of its best candidate (all taken), else unmatched.
CREATE TABLE line_outcome AS
SELECT l.*, a.record_no AS matched_no, best.record_no AS best_no
FROM lines l
LEFT JOIN assigned a USING (line_no)
LEFT JOIN (SELECT line_no, min(preference) & ((1::BIGINT << 34) - 1) AS record_no FROM pairs GROUP BY line_no) best
    USING (line_no);

-- The expected amount in the line's currency: the cost itself, nothing when the contract takes
-- only the deck's currency, else converted through EUR at the record's UTC date (latest rate on
-- or before it, at most 7 days old), rounded to 6 places half away from zero.
CREATE TABLE checked AS
WITH matched AS (
    SELECT o.line_no, o.quantity, o.rate, o.amount, o.currency, r.record_id, r.cost, r.billed, r.undelivered,
           r.rate AS deck_rate,
           r.deck_currency, CAST(r.started_at AS DATE) AS day, coalesce(c.deck_currency_only, false) AS deck_currency_only
    FROM line_outcome o JOIN rated r ON r.record_no = o.matched_no
    LEFT JOIN contracts c ON c.carrier = o.carrier
), converted AS (
    SELECT m.line_no,
           CASE WHEN m.deck_currency = 'EUR' THEN 1000000000000 WHEN m.day - f.date <= 7 THEN f.per_eur END AS per_eur_from,
           CASE WHEN m.currency = 'EUR' THEN 1000000000000 WHEN m.day - t.date <= 7 THEN t.per_eur END AS per_eur_to
    FROM (SELECT * FROM matched WHERE cost IS NOT NULL AND currency <> deck_currency AND NOT deck_currency_only) m
    ASOF LEFT JOIN fx f ON f.currency = m.deck_currency AND m.day >= f.date
    ASOF LEFT JOIN fx t ON t.currency = m.currency AND m.day >= t.date
)
SELECT m.*,
       CASE WHEN m.cost IS NULL THEN NULL
            WHEN m.currency = m.deck_currency THEN m.cost
            WHEN m.deck_currency_only THEN NULL
            ELSE (2 * (m.cost // 1000000) * c.per_eur_to + c.per_eur_from) // (2 * c.per_eur_from) * 1000000 END AS expected
FROM matched m LEFT JOIN converted c USING (line_no);

CREATE TABLE discrepancies AS
SELECT o.carrier, o.invoice_id, o.line_id, NULL AS record_id, 'unmatched_charge' AS kind, o.amount AS difference, o.line_no
FROM line_outcome o WHERE o.matched_no IS NULL AND o.best_no IS NULL
UNION ALL
SELECT o.carrier, o.invoice_id, o.line_id, u.record_id, 'duplicate_charge', o.amount, o.line_no
FROM line_outcome o JOIN usage u ON u.record_no = o.best_no WHERE o.matched_no IS NULL
UNION ALL
SELECT o.carrier, o.invoice_id, o.line_id, k.record_id, k.kind, k.difference, o.line_no
FROM line_outcome o JOIN (
    SELECT line_no, record_id,
           CASE WHEN cost IS NULL THEN 'no_rate'
                WHEN undelivered AND amount > 0 THEN 'undelivered_charge'
                WHEN quantity <> billed THEN 'quantity_mismatch'
                WHEN expected IS NULL THEN 'currency_mismatch'
                WHEN currency = deck_currency AND rate IS NOT NULL AND rate <> deck_rate THEN 'rate_mismatch'
                WHEN abs(amount - expected) > 1000000 THEN 'amount_mismatch' END AS kind,
           CASE WHEN cost IS NULL THEN NULL WHEN undelivered AND amount > 0 THEN amount
                ELSE amount - expected END AS difference
    FROM checked
) k USING (line_no)
WHERE k.kind IS NOT NULL
UNION ALL
-- Billable records no line took, of the months the carrier's lines fall in.
SELECT r.carrier, NULL, NULL, r.record_id, 'unbilled_usage', -r.cost, NULL
FROM rated r
JOIN (SELECT DISTINCT carrier, date_trunc('month', started_at) AS month FROM lines) billed_months
    ON billed_months.carrier = r.carrier AND billed_months.month = date_trunc('month', r.started_at)
ANTI JOIN assigned a ON a.record_no = r.record_no
WHERE r.cost > 0;

COPY (
    SELECT carrier, invoice_id, line_id, record_id, kind, decimal12(difference) AS difference
    FROM discrepancies ORDER BY carrier, invoice_id NULLS FIRST, line_no
) TO '{out}' (HEADER);
