"""QR codes as inline SVG (no Pillow): the receipt, the home page and place posters."""
from __future__ import annotations

from functools import lru_cache

import qrcode
import qrcode.image.svg
from markupsafe import Markup


@lru_cache(maxsize=256)
def qr_svg(url: str) -> Markup:
    """Return an inline ``<svg>`` QR code of ``url`` that scales to its box."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2,
                       image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(url)
    svg = qr.make_image().to_string(encoding="unicode")
    svg = svg[svg.index("<svg"):]  # drop the XML declaration
    return Markup(svg.replace("<svg ", '<svg class="qr" role="img" focusable="false" ', 1))
