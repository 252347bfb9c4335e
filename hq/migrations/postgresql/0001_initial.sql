-- HQ's schema on PostgreSQL, version 1 (see hq/postgres.py and docs/architecture.md).
-- Times are timestamptz; the store returns them as utc_iso text like the SQLite backend.

CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);

-- last_seq / last_hash: the site's highest stored event, kept in the batch's transaction,
-- so a batch starts from this row (taken FOR UPDATE) and no summary scans events.
CREATE TABLE sites (
  site_id text PRIMARY KEY, name text NOT NULL, key_id text NOT NULL UNIQUE,
  secret text NOT NULL, revoked boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL, last_contact timestamptz,
  events_received bigint NOT NULL DEFAULT 0,
  last_seq bigint NOT NULL DEFAULT 0, last_hash text);

-- Append-only, partitioned by hash of the site: the partition key is part of the primary
-- key, so (site_id, seq) is unique across all partitions; every query names a site.
-- body: the event as text, exactly the JSON the chain verification re-hashes.
CREATE TABLE events (
  site_id text NOT NULL, seq bigint NOT NULL, event_id text NOT NULL, ticket_id text,
  type text NOT NULL, at timestamptz, hash text NOT NULL, prev_hash text NOT NULL,
  body text NOT NULL, applied boolean NOT NULL, received_at timestamptz NOT NULL,
  PRIMARY KEY (site_id, seq)
) PARTITION BY HASH (site_id);
CREATE TABLE events_p00 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 0);
CREATE TABLE events_p01 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 1);
CREATE TABLE events_p02 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 2);
CREATE TABLE events_p03 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 3);
CREATE TABLE events_p04 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 4);
CREATE TABLE events_p05 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 5);
CREATE TABLE events_p06 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 6);
CREATE TABLE events_p07 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 7);
CREATE TABLE events_p08 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 8);
CREATE TABLE events_p09 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 9);
CREATE TABLE events_p10 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 10);
CREATE TABLE events_p11 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 11);
CREATE TABLE events_p12 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 12);
CREATE TABLE events_p13 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 13);
CREATE TABLE events_p14 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 14);
CREATE TABLE events_p15 PARTITION OF events FOR VALUES WITH (MODULUS 16, REMAINDER 15);
CREATE INDEX events_by_ticket ON events (site_id, ticket_id, seq);
CREATE INDEX events_reports ON events (at) WHERE type = 'report_issued';

-- The ticket read model, folded in the batch's transaction.
CREATE TABLE tickets (
  site_id text NOT NULL, ticket_id text NOT NULL, state jsonb NOT NULL, status text NOT NULL,
  category text, due_at timestamptz, reported_at timestamptz, updated_seq bigint NOT NULL,
  PRIMARY KEY (site_id, ticket_id));
-- The cross-site ticket list (hq/postgres_reads.py tickets): newest first by
-- (reported_at, site_id, ticket_id), keyset paging from a cursor. Every filter the list
-- offers has an index that ends in that key, so a page is a backward index scan that
-- stops after 51 rows, whatever the filter (checked with EXPLAIN by bench/hq_dashboard.py);
-- the reports' range reads (tickets_reported) use the first one.
CREATE INDEX tickets_list ON tickets (reported_at, site_id, ticket_id);
CREATE INDEX tickets_list_site ON tickets (site_id, reported_at, ticket_id);
CREATE INDEX tickets_list_category ON tickets (category, reported_at, site_id, ticket_id);
CREATE INDEX tickets_list_status ON tickets (status, reported_at, site_id, ticket_id);
CREATE INDEX tickets_list_open ON tickets (reported_at, site_id, ticket_id)
  WHERE status <> 'closed';
CREATE INDEX tickets_open ON tickets (site_id, category, due_at) WHERE status <> 'closed';

CREATE TABLE desk_records (
  site_id text NOT NULL, kind text NOT NULL, record_id text NOT NULL,
  opened_at timestamptz NOT NULL, due_at timestamptz, closed_at timestamptz,
  PRIMARY KEY (site_id, kind, record_id));
CREATE INDEX desk_records_open ON desk_records (site_id, kind) WHERE closed_at IS NULL;

CREATE TABLE alarms (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, site_id text NOT NULL,
  seq bigint NOT NULL, kind text NOT NULL, detail text NOT NULL, at timestamptz NOT NULL,
  UNIQUE (site_id, seq, kind));

CREATE TABLE admins (
  name_key text PRIMARY KEY, name text NOT NULL, pin_hash text NOT NULL,
  failures integer NOT NULL DEFAULT 0, locked_until timestamptz,
  created_at timestamptz NOT NULL);
CREATE TABLE admin_sessions (
  digest text PRIMARY KEY, name_key text NOT NULL, created_at timestamptz NOT NULL,
  seen_at timestamptz NOT NULL);
CREATE INDEX admin_sessions_by_name ON admin_sessions (name_key);
CREATE INDEX admin_sessions_by_seen ON admin_sessions (seen_at);
