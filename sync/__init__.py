"""Sync to headquarters (issue 4): the event log is the outbox."""
