"""Whole numbers from untrusted text: ASCII digits only, never an exception."""

from __future__ import annotations

import pytest

from tidings.digits import ascii_int, is_ascii_digits


@pytest.mark.parametrize("value", ["0", "7", "0443", "9" * 18])
def test_ascii_digits_read_as_numbers(value: str) -> None:
    assert is_ascii_digits(value) and ascii_int(value) == int(value)


def test_runs_of_digits_too_long_for_any_count_are_no_number() -> None:
    # int() itself refuses 5,000 digits (Python's 4,300-digit limit), so these must never reach it.
    for value in ("9" * 19, "9" * 5000):
        assert is_ascii_digits(value) and ascii_int(value) is None


@pytest.mark.parametrize("value", ["", "²", "¹²", "١٢", "12a", "-1", "+1", " 1", "1.5", "①"])
def test_anything_else_is_not_a_number(value: str) -> None:
    # "²" and "①" pass str.isdigit() yet int() rejects them; "١٢" (Arabic-Indic) int() takes, but no
    # header, port or id is written that way.
    assert not is_ascii_digits(value) and ascii_int(value) is None
