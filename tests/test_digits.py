"""Whole numbers from untrusted text: ASCII digits only, never an exception."""

from __future__ import annotations

import pytest

from tidings.digits import ascii_int, is_ascii_digits


@pytest.mark.parametrize("value", ["0", "7", "0443", "123456789012345678901234567890"])
def test_ascii_digits_read_as_numbers(value: str) -> None:
    assert is_ascii_digits(value) and ascii_int(value) == int(value)


@pytest.mark.parametrize("value", ["", "²", "¹²", "١٢", "12a", "-1", "+1", " 1", "1.5", "①"])
def test_anything_else_is_not_a_number(value: str) -> None:
    # "²" and "①" pass str.isdigit() yet int() rejects them; "١٢" (Arabic-Indic) int() takes, but no
    # header, port or id is written that way.
    assert not is_ascii_digits(value) and ascii_int(value) is None
