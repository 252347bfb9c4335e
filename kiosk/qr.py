"""QR codes as inline SVG (no Pillow), and the absolute URLs they carry: the receipt,
the home page and place posters."""
from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.image.svg
from flask import current_app, request
from markupsafe import Markup


def public_url(path: str) -> str:
    """Return the absolute URL of ``path`` that a phone can open.

    The base is ``PUBLIC_BASE_URL`` (the tablet's LAN address); without it, the
    address this request came in on, which a phone may not reach.
    """
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return base.rstrip("/") + path


@lru_cache(maxsize=256)
def qr_svg(url: str) -> Markup:
    """Return an inline ``<svg>`` QR code of ``url`` that scales to its box."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(url)
    svg = qr.make_image().to_string(encoding="unicode")
    svg = svg[svg.index("<svg"):].replace(' id="qr-path"', "")  # no XML declaration, no ids
    # decorative: the text beside every code says what it is for
    return Markup(svg.replace("<svg ", '<svg class="qr" aria-hidden="true" focusable="false" ', 1))
