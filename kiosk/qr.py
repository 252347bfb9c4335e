"""QR codes as inline SVG (no Pillow), and the absolute URLs they carry: the receipt,
the home page and place posters; and whether those URLs name this machine only."""
from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.image.svg
from flask import current_app, request
from markupsafe import Markup

from common.netaddr import is_loopback_url


def public_url(path: str) -> str:
    """Return the absolute URL of ``path`` that a phone can open.

    The base is ``PUBLIC_BASE_URL`` (the tablet's LAN address); without it, the
    address this request came in on, which a phone may not reach.
    """
    return qr_base_url().rstrip("/") + path


def qr_base_url() -> str:
    """Return the base of every QR code's URL: ``PUBLIC_BASE_URL``, else this request's."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def loopback_qr_base() -> str | None:
    """Return the base the QR codes carry if it is an address of this machine only
    (127.0.0.1, localhost), which no phone can open (the staff pages then say so); else
    ``None``."""
    base = qr_base_url()
    return base if is_loopback_url(base) else None


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
