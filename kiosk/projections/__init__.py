"""Projections: views of the event log, kept in memory, checkpointed to disk.

``tickets.Tickets`` keeps open tickets in a dict indexed by id, status token and
request id, journalled to ``open.jsonl`` (a checkpoint appends only what changed), and
moves closed ones to ``archive.Archive``, a TinyDB file per month of report with
in-memory indexes, so a lookup, a submit and a checkpoint cost the same whatever the
history and however many tickets are open. ``locations.Locations`` keeps the site's
places (R17) in TinyDB. Every projection records the last seq it applied and every
``apply`` is idempotent: after a crash the store replays the log since the last
checkpoint, and a lost or corrupt file is rebuilt from the log.
"""
