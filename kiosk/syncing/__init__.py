"""The kiosk's side of sync to HQ: the worker started with the app, the staff page and
the ``sync`` shell commands. The protocol and the worker itself are ``sync``'s."""
