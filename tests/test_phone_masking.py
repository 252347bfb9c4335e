"""Phone masking on the public status page: at most the last 4 digits show, and at
least half of the digits are hidden, whatever the number's length (issue 8, point 5)."""
from __future__ import annotations

import pytest

from common.phones import mask_phone

DIGITS = "98765432109876543210"


@pytest.mark.parametrize("length", range(1, 21))
def test_a_number_of_any_length_shows_at_most_its_last_four_digits_and_hides_half(length):
    phone = DIGITS[:length]
    masked = mask_phone(phone)
    shown = masked.lstrip("*")
    hidden = len(masked) - len(shown)
    assert len(masked) == length and set(masked[:hidden]) <= {"*"}
    assert len(shown) <= 4 and 2 * hidden >= length
    assert phone.endswith(shown)
    assert len(shown) == min(4, length // 2)  # as much as the rule allows, no more


@pytest.mark.parametrize("phone, masked", [
    ("13812345678", "*******5678"),   # a mobile
    ("01062751234", "*******1234"),   # a landline with its area code
    ("23456789", "****6789"),         # an 8-digit landline: was 234****6789
    ("2345678", "****678"),           # a 7-digit landline
    ("123456", "***456"),
    ("12", "*2"),
    ("7", "*"),
    ("138 1234-5678", "*******5678"),  # spacing is not a digit
    ("", ""),
    (None, ""),
])
def test_real_numbers(phone, masked):
    assert mask_phone(phone) == masked


def test_the_status_page_hides_a_landline(visitor, client):
    visitor.report(category="inquiry", location=None, phone="23456789")
    html = client.get("/report/receipt").get_data(as_text=True)
    token = html.split('href="/t/')[1].split('"')[0]
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert "****6789" in page and "234*" not in page and "23456789" not in page
