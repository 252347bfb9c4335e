"""Small pieces both apps (the kiosk and HQ) and sync share: no Flask, no app state.

The lowest package: it imports nothing of ``kiosk``, ``hq`` or ``sync``.
"""
