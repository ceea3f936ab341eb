-- What a message's delivery receipt says (usage.csv `status`: delivered, failed, expired,
-- rejected, unknown; NULL when not given), and when a carrier bills messages (rates.csv and
-- prices.csv `billed_on`: submitted or delivered; NULL when the row does not say).
ALTER TABLE usage_records ADD COLUMN status TEXT;
ALTER TABLE rate_row_lines ADD COLUMN billed_on TEXT;
ALTER TABLE price_row_lines ADD COLUMN billed_on TEXT;
