"""Whole numbers read from untrusted text (headers, feed fields, URLs, form values), ASCII digits only.

`str.isdigit()` is also true for superscripts and other digit signs ("²", "¹") that `int()` rejects, so
`value.isdigit() and int(value)` raises on hostile input; one feed with `<ttl>²</ttl>` made the whole feed
unreadable. Every such check goes through here; it lives outside the stages so that all of them may use it.
"""

from __future__ import annotations

# Longer runs of digits are no count, size or id this product stores (int64 holds 18 digits), and int()
# refuses strings above 4,300 digits: a hostile header of 5,000 nines would raise there too.
MAX_DIGITS = 18


def is_ascii_digits(value: str) -> bool:
    """Whether value is one or more of the ASCII digits 0-9 and nothing else."""
    return value.isascii() and value.isdigit()


def ascii_int(value: str) -> int | None:
    """The value as an int when it is 1 to MAX_DIGITS ASCII digits, else None."""
    return int(value) if len(value) <= MAX_DIGITS and is_ascii_digits(value) else None
