"""The address phones use (issue 9, point 2): the LAN address is found without sending a
packet, an explicit address wins over it, every QR code carries it, and the staff
console warns while the QR codes carry an address of this machine only."""
from __future__ import annotations

import ipaddress
import re
import socket

import pytest
from helpers import sign_in

from common import netaddr
from kiosk.qr import qr_svg

LAN = "http://192.168.1.20:8080"


class NoSendSocket(socket.socket):
    """A real socket that records where it is connected and fails the test on any send."""

    connected: list = []

    def connect(self, address):
        NoSendSocket.connected.append(address)
        return super().connect(address)

    def _refuse(self, *args, **kwargs):
        raise AssertionError("lan_ipv4 must not send anything")

    send = sendto = sendall = sendmsg = _refuse


# -- finding the LAN address -------------------------------------------------------------
def test_the_lan_address_is_read_from_a_connected_udp_socket_without_sending(monkeypatch):
    NoSendSocket.connected = []
    monkeypatch.setattr(netaddr.socket, "socket", NoSendSocket)
    address = netaddr.lan_ipv4()
    (host, port), = NoSendSocket.connected  # one connect(), and no send (it would raise)
    assert ipaddress.ip_address(host).is_private and not ipaddress.ip_address(host).is_loopback
    if address is None:
        pytest.skip("this machine has no route to a private network: no LAN address to find")
    ip = ipaddress.ip_address(address)
    assert ip.version == 4 and not ip.is_loopback and not ip.is_unspecified
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as own:
        own.bind((address, 0))  # an address of this very machine


class Unrouted(socket.socket):
    def connect(self, address):
        raise OSError(101, "Network is unreachable")


class LoopbackOnly(socket.socket):
    def connect(self, address):
        pass

    def getsockname(self):
        return ("127.0.0.1", 40000)


@pytest.mark.parametrize("fake", [Unrouted, LoopbackOnly], ids=["no route", "loopback"])
def test_without_a_lan_there_is_no_address(monkeypatch, fake):
    monkeypatch.setattr(netaddr.socket, "socket", fake)
    assert netaddr.lan_ipv4() is None


# -- which address wins ------------------------------------------------------------------
def detected():
    return "192.168.1.20"


def never():
    raise AssertionError("no detection expected")


@pytest.mark.parametrize("configured, host, detect, expected", [
    ("http://desk.example:9000", "0.0.0.0", never, "http://desk.example:9000"),
    ("http://desk.example:9000", "127.0.0.1", never, "http://desk.example:9000"),
    (None, "0.0.0.0", detected, LAN),
    ("", "::", detected, LAN),
    (None, "0.0.0.0", lambda: None, None),   # nothing found: no address, a warning instead
    (None, "127.0.0.1", never, None),        # loopback: no detection
    (None, "localhost", never, None),
    (None, "::1", never, None),
    (None, "10.0.0.7", never, "http://10.0.0.7:8080"),  # one LAN address given: that one
])
def test_an_explicit_address_wins_and_detection_is_only_for_every_interface(
        configured, host, detect, expected):
    assert netaddr.public_base_url(configured, host, 8080, detect) == expected


@pytest.mark.parametrize("url, loopback", [
    ("http://127.0.0.1:8080/", True), ("http://localhost/", True), ("http://[::1]:8080", True),
    ("http://127.1.2.3", True), ("http://0.0.0.0:8080", True), ("http://kiosk.localhost/", True),
    (LAN, False), ("https://desk.example.com", False), ("http://[fd00::5]:8080/", False),
])
def test_loopback_addresses_are_recognised(url, loopback):
    assert netaddr.is_loopback_url(url) is loopback


# -- the QR codes carry the public address ------------------------------------------------
def qr_of(html: str) -> str:
    return re.search(r'<svg class="qr".*?</svg>', html, re.S).group(0)


def test_the_home_page_qr_code_carries_the_public_address(app, client):
    app.config["PUBLIC_BASE_URL"] = LAN
    html = client.get("/").get_data(as_text=True)
    assert qr_of(html) == str(qr_svg(f"{LAN}/?via=phone"))


def test_the_receipt_qr_code_carries_the_public_address(app, visitor, client, store):
    app.config["PUBLIC_BASE_URL"] = LAN + "/"
    visitor.report()
    html = client.get("/report/receipt").get_data(as_text=True)
    token = store.open_tickets()[0]["token"]
    assert qr_of(html) == str(qr_svg(f"{LAN}/t/{token}"))


def test_a_poster_qr_code_carries_the_public_address(app, client):
    app.config["PUBLIC_BASE_URL"] = LAN
    sign_in(app, client, role="manager")
    html = client.get("/staff/places/posters?code=DEMO-LIB").get_data(as_text=True)
    assert qr_of(html) == str(qr_svg(f"{LAN}/q/DEMO-LIB"))


# -- the console's warning ---------------------------------------------------------------
def test_the_console_warns_while_the_qr_codes_carry_a_loopback_address(app, client):
    sign_in(app, client)
    html = client.get("/staff/").get_data(as_text=True)  # the test client is http://localhost/
    warning = re.search(r'<p [^>]*id="qr-loopback-warning"[^>]*>(.*?)</p>', html, re.S)
    assert warning and "手机无法访问本机" in warning.group(1)
    assert "http://localhost/" in warning.group(1) and "--host 0.0.0.0" in warning.group(1)
    client.get("/lang/en")
    html = client.get("/staff/").get_data(as_text=True)
    assert "Phones cannot reach this kiosk" in html

    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:8080"  # set, but still this machine only
    assert "qr-loopback-warning" in client.get("/staff/places").get_data(as_text=True)

    app.config["PUBLIC_BASE_URL"] = LAN
    for page in ("/staff/", "/staff/places", "/staff/sync"):
        response = client.get(page)
        assert response.status_code == 200
        assert "qr-loopback-warning" not in response.get_data(as_text=True), page


def test_no_warning_when_the_console_is_opened_on_a_lan_address(app, client):
    sign_in(app, client)
    name = app.config["SESSION_COOKIE_NAME"]
    client.set_cookie(name, client.get_cookie(name).value, domain="192.168.1.20")
    response = client.get("/staff/", base_url="http://192.168.1.20:8080")  # the LAN address
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="staff-nav"' in html  # signed in
    assert "qr-loopback-warning" not in html  # the QR codes carry that address
