-- Issue 15: what needs the manager's attention. An alarm is open until an HQ admin
-- acknowledges it (who and when); a complaint is "unsigned" until the manager signs it
-- off (the ticket's folded state, kept as a column so the sites page counts it by index).
-- The sites page counts each site's open alarms and unsigned complaints through these
-- partial indexes (hq/postgres_reads.py site_summaries); acknowledged alarms through
-- the alarms' unique (site_id, seq, kind) index.
ALTER TABLE alarms ADD COLUMN acked_at timestamptz, ADD COLUMN acked_by text;
CREATE INDEX alarms_open ON alarms (site_id) WHERE acked_at IS NULL;
ALTER TABLE tickets ADD COLUMN signed_off boolean NOT NULL DEFAULT false;
UPDATE tickets SET signed_off = true
  WHERE COALESCE(state -> 'signed_off', 'null') NOT IN ('false', 'null', '0', '""');
CREATE INDEX tickets_unsigned ON tickets (site_id)
  WHERE category = 'complaint' AND status <> 'closed' AND NOT signed_off;
