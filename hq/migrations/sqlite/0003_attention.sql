-- Issue 15: what needs the manager's attention. An alarm is open until an HQ admin
-- acknowledges it (who and when); a complaint is "unsigned" until the manager signs it
-- off (the ticket's folded state, kept as a column so the sites page counts it by index).
ALTER TABLE alarms ADD COLUMN acked_at TEXT;
ALTER TABLE alarms ADD COLUMN acked_by TEXT;
CREATE INDEX IF NOT EXISTS alarms_open ON alarms (site_id) WHERE acked_at IS NULL;
ALTER TABLE tickets ADD COLUMN signed_off INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET signed_off = 1
  WHERE COALESCE(json_extract(state, '$.signed_off'), 0) NOT IN (0, '');
CREATE INDEX IF NOT EXISTS tickets_unsigned ON tickets (site_id)
  WHERE category = 'complaint' AND status != 'closed' AND signed_off = 0
