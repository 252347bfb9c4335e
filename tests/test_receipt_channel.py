"""The receipt on the visitor's own phone offers the status link to keep, not a QR code to
scan with the phone already in hand (issue 9, point 6); the kiosk's receipt keeps its code."""
from __future__ import annotations

import re

from helpers import Visitor

KEEP = "打开进度页面，并保存或加入书签，随时查看您的工单进展。"
SCAN = "用手机扫描此码，随时查看处理进度。"


def test_on_the_visitors_phone_the_receipt_offers_the_link_to_keep(client, store):
    client.get("/?via=phone")  # the kiosk's "continue on your phone" code
    Visitor(client).report()
    html = client.get("/report/receipt").get_data(as_text=True)
    (ticket,) = store.open_tickets()
    assert KEEP in html and SCAN not in html
    assert '<svg class="qr"' not in html
    assert f'href="/t/{ticket["token"]}"' in html and "打开进度页面" in html
    shown = re.search(r'id="status-url">([^<]+)<', html).group(1)  # the address, to note
    assert shown.startswith("http") and shown.endswith(f'/t/{ticket["token"]}')


def test_from_a_place_poster_on_a_phone_too(client, store):
    client.get("/q/DEMO-LIB")
    Visitor(client).report(location="DEMO-LIB")
    html = client.get("/report/receipt").get_data(as_text=True)
    assert KEEP in html and '<svg class="qr"' not in html


def test_on_the_kiosk_the_receipt_shows_the_qr_code_to_scan(client, store):
    Visitor(client).report()
    html = client.get("/report/receipt").get_data(as_text=True)
    (ticket,) = store.open_tickets()
    assert SCAN in html and KEEP not in html and '<svg class="qr"' in html
    assert f'href="/t/{ticket["token"]}"' in html
