-- Issue 15: the cross-site ticket list's search (hq/ticket_list.py). number_key: the
-- ticket's number in upper case; phone_digits: the visitor's phone as digits;
-- phone_last4: its last 4 digits. Kept current by _fold (hq/sqlite.py), backfilled here
-- from the folded state (noise a phone may carry, as the kiosk's normalise_phone strips it).
ALTER TABLE tickets ADD COLUMN number_key TEXT;
ALTER TABLE tickets ADD COLUMN phone_digits TEXT;
ALTER TABLE tickets ADD COLUMN phone_last4 TEXT;
UPDATE tickets SET number_key = upper(json_extract(state, '$.number')),
  phone_digits = NULLIF(replace(replace(replace(replace(replace(replace(replace(
    CASE WHEN json_type(state, '$.phone') = 'text' THEN json_extract(state, '$.phone')
    ELSE '' END, ' ', ''), '-', ''), '(', ''), ')', ''), '（', ''), '）', ''), '+', ''), '');
UPDATE tickets SET phone_last4 = substr(phone_digits, -4) WHERE length(phone_digits) >= 4;
CREATE INDEX IF NOT EXISTS tickets_number ON tickets (number_key);
CREATE INDEX IF NOT EXISTS tickets_phone ON tickets (phone_digits) WHERE phone_digits IS NOT NULL;
CREATE INDEX IF NOT EXISTS tickets_phone_last4 ON tickets (phone_last4)
  WHERE phone_last4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS tickets_late ON tickets (due_at) WHERE status != 'closed';
-- The sites' places by code (R17), their names in both languages: folded from
-- locations_imported and location_saved in the batch's transaction (hq/ingest.py places),
-- backfilled here from the events already stored, the newest naming of a code winning.
CREATE TABLE IF NOT EXISTS places (
  site_id TEXT NOT NULL, code TEXT NOT NULL, name_zh TEXT, name_en TEXT,
  PRIMARY KEY (site_id, code));
INSERT OR REPLACE INTO places (site_id, code, name_zh, name_en)
SELECT site_id, code, name_zh, name_en FROM (
  SELECT site_id, code, name_zh, name_en, row_number() OVER (
    PARTITION BY site_id, code ORDER BY seq DESC, n DESC) AS newest FROM (
    SELECT e.site_id, e.seq, CAST(r.key AS INTEGER) AS n,
      json_extract(r.value, '$.code') AS code, json_type(r.value, '$.code') AS code_type,
      CASE WHEN json_type(r.value, '$.name_zh') = 'text'
        THEN json_extract(r.value, '$.name_zh') END AS name_zh,
      CASE WHEN json_type(r.value, '$.name_en') = 'text'
        THEN json_extract(r.value, '$.name_en') END AS name_en
    FROM events e, json_each(e.body, '$.data.rows') r
    WHERE e.type = 'locations_imported' AND e.applied = 1
      AND json_type(e.body, '$.data.rows') = 'array'
    UNION ALL
    SELECT e.site_id, e.seq, 0, json_extract(e.body, '$.data.code'),
      json_type(e.body, '$.data.code'),
      CASE WHEN json_type(e.body, '$.data.name_zh') = 'text'
        THEN json_extract(e.body, '$.data.name_zh') END,
      CASE WHEN json_type(e.body, '$.data.name_en') = 'text'
        THEN json_extract(e.body, '$.data.name_en') END
    FROM events e WHERE e.type = 'location_saved' AND e.applied = 1)
  WHERE code_type = 'text')
WHERE newest = 1
