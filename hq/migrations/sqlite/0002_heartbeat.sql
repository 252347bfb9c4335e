-- Version 2: each site's last status report, as its kiosk sent it with a batch or a probe
-- (PROTOCOL.md, "status"; hq/liveness.py): its log's highest seq, its version, its clock
-- (UTC ISO text) and its idle probe interval in seconds. Null until a kiosk reports.
ALTER TABLE sites ADD COLUMN kiosk_last_seq INTEGER;
ALTER TABLE sites ADD COLUMN kiosk_version TEXT;
ALTER TABLE sites ADD COLUMN kiosk_clock TEXT;
ALTER TABLE sites ADD COLUMN heartbeat_seconds INTEGER;
