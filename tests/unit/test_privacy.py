"""Masking of customer numbers for logs."""
import pytest

from cti.domain.privacy import mask_number


@pytest.mark.parametrize("number,masked", [
    ("13800138000", "138****8000"),
    ("+8613800138000", "+861******8000"),
    ("5557001", "*****01"),
    ("10010", "***10"),
    ("12", "**"),
    ("abc", "***"),
    ("", ""),
    (None, ""),
])
def test_mask(number, masked):
    assert mask_number(number) == masked


def test_never_returns_the_number_itself():
    for n in ("13800138000", "5557001", "010-1234", "+1"):
        assert mask_number(n) != n
