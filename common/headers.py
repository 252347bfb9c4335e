"""The security headers every page of the kiosk and HQ carries.

``set_headers`` takes the app's response object (Flask's), by duck typing: this module
imports nothing of Flask.
"""
from __future__ import annotations

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")


#: Set on every response, as they are (a list, extended in one step per response).
STATIC_HEADERS = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                  ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY")]
#: What an HTML page varies by: htmx asks for partials of the same address.
HTML_VARY = ("HX-Request", "HX-Trigger", "Cookie")


def set_headers(response):
    """Lock pages to this server, keep tokens out of referrers, never cache personal data."""
    response.headers.extend(STATIC_HEADERS)
    if response.mimetype == "text/html":
        # the next visitor must not find the last one's entry behind the Back button
        response.headers["Cache-Control"] = "no-store"
        response.vary.update(HTML_VARY)
    return response
