"""FrontDesk's command line: the one place where the kiosk's and HQ's commands meet.

Nothing imports this package; it imports ``kiosk`` and ``hq``.
"""
