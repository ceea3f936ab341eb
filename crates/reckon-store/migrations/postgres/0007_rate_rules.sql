-- The pricing rules of rates.csv (issue 13) as columns of their own, named as the file's
-- columns: a first-interval rate, a cap per record, the carrier's rounding and a blocked
-- destination. Empty (NULL) is the file's default, so rows stored before keep their content
-- hashes and price as they did. Decimals are exact (NUMERIC); rounding_decimals is the
-- file's text (0 to 12), blocked is `true` or NULL.
ALTER TABLE rate_row_lines ADD COLUMN first_rate NUMERIC;
ALTER TABLE rate_row_lines ADD COLUMN max_cost NUMERIC;
ALTER TABLE rate_row_lines ADD COLUMN rounding_decimals TEXT;
ALTER TABLE rate_row_lines ADD COLUMN rounding_mode TEXT;
ALTER TABLE rate_row_lines ADD COLUMN blocked TEXT;
ALTER TABLE price_row_lines ADD COLUMN first_rate NUMERIC;
ALTER TABLE price_row_lines ADD COLUMN max_cost NUMERIC;
ALTER TABLE price_row_lines ADD COLUMN rounding_decimals TEXT;
ALTER TABLE price_row_lines ADD COLUMN rounding_mode TEXT;
ALTER TABLE price_row_lines ADD COLUMN blocked TEXT;
