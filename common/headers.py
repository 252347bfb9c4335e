"""The security headers every page of the kiosk and HQ carries.

``set_headers`` takes the app's response object (Flask's), by duck typing: this module
imports nothing of Flask.
"""
from __future__ import annotations

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")


def set_headers(response):
    """Lock pages to this server, keep tokens out of referrers, never cache personal data."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if response.mimetype == "text/html":
        # the next visitor must not find the last one's entry behind the Back button
        response.headers["Cache-Control"] = "no-store"
        response.vary.update(["HX-Request", "HX-Trigger", "Cookie"])
    return response
