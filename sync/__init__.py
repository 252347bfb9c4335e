"""What connects a site to HQ, without Flask: the event format both sides share
(``events``), the signed wire protocol (``protocol``, PROTOCOL.md), the kiosk's client
and worker, and the durable sync state on disk. It imports only ``common``."""
