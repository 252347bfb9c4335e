-- Issue 15: the cross-site ticket list's search (hq/ticket_list.py). number_key: the
-- ticket's number in upper case; phone_digits: the visitor's phone as digits;
-- phone_last4: its last 4 digits. Kept current by the batch's upsert (hq/postgres.py),
-- backfilled here from the folded state. Each search has an index that ends in the
-- list's key (reported_at, site_id, ticket_id), so a page is an index scan that stops
-- after 51 rows, and its count (capped at 10,001 rows) reads the same index; the date
-- range uses tickets_list; late tickets (open, due before now) tickets_late; unsigned
-- complaints across sites tickets_list_unsigned (one site's: 0003's tickets_unsigned).
ALTER TABLE tickets ADD COLUMN number_key text, ADD COLUMN phone_digits text,
  ADD COLUMN phone_last4 text;
UPDATE tickets SET number_key = upper(state ->> 'number'),
  phone_digits = NULLIF(regexp_replace(
    CASE WHEN jsonb_typeof(state -> 'phone') = 'string' THEN state ->> 'phone' ELSE '' END,
    '[^0-9]', '', 'g'), '');
UPDATE tickets SET phone_last4 = right(phone_digits, 4) WHERE length(phone_digits) >= 4;
CREATE INDEX tickets_number ON tickets (number_key, reported_at, site_id, ticket_id);
CREATE INDEX tickets_phone ON tickets (phone_digits, reported_at, site_id, ticket_id)
  WHERE phone_digits IS NOT NULL;
CREATE INDEX tickets_phone_last4 ON tickets (phone_last4, reported_at, site_id, ticket_id)
  WHERE phone_last4 IS NOT NULL;
CREATE INDEX tickets_late ON tickets (due_at) WHERE status <> 'closed';
CREATE INDEX tickets_list_unsigned ON tickets (reported_at, site_id, ticket_id)
  WHERE category = 'complaint' AND status <> 'closed' AND NOT signed_off;

-- The sites' places by code (R17), their names in both languages: folded from
-- locations_imported and location_saved in the batch's transaction (hq/ingest.py places),
-- backfilled here from the events already stored, the newest naming of a code winning
-- (an event whose body holds U+0000, which jsonb cannot, is left out).
CREATE TABLE places (
  site_id text NOT NULL, code text NOT NULL, name_zh text, name_en text,
  PRIMARY KEY (site_id, code));
INSERT INTO places (site_id, code, name_zh, name_en)
SELECT DISTINCT ON (site_id, code) site_id, code, name_zh, name_en FROM (
  SELECT e.site_id, e.seq, r.n, r.place ->> 'code' AS code,
    jsonb_typeof(r.place -> 'code') AS code_type,
    CASE WHEN jsonb_typeof(r.place -> 'name_zh') = 'string' THEN r.place ->> 'name_zh' END
      AS name_zh,
    CASE WHEN jsonb_typeof(r.place -> 'name_en') = 'string' THEN r.place ->> 'name_en' END
      AS name_en
  FROM events e CROSS JOIN LATERAL jsonb_array_elements(
    CASE WHEN jsonb_typeof(e.body::jsonb -> 'data' -> 'rows') = 'array'
      THEN e.body::jsonb -> 'data' -> 'rows' ELSE '[]'::jsonb END) WITH ORDINALITY AS r(place, n)
  WHERE e.type = 'locations_imported' AND e.applied AND strpos(e.body, '\u0000') = 0
  UNION ALL
  SELECT e.site_id, e.seq, 0, e.body::jsonb -> 'data' ->> 'code',
    jsonb_typeof(e.body::jsonb -> 'data' -> 'code'),
    CASE WHEN jsonb_typeof(e.body::jsonb -> 'data' -> 'name_zh') = 'string'
      THEN e.body::jsonb -> 'data' ->> 'name_zh' END,
    CASE WHEN jsonb_typeof(e.body::jsonb -> 'data' -> 'name_en') = 'string'
      THEN e.body::jsonb -> 'data' ->> 'name_en' END
  FROM events e
  WHERE e.type = 'location_saved' AND e.applied AND strpos(e.body, '\u0000') = 0) found
WHERE code_type = 'string'
ORDER BY site_id, code, seq DESC, n DESC;
