"""The shift handover and the work diary (R20): what the outgoing person hands over,
acknowledged by the incoming one with their own PIN, and the desk's short daily notes."""
