"""The error every network read raises."""

from __future__ import annotations


class FetchError(Exception):
    """A fetch that failed; `kind` says why in one word, `str()` says it in one line."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.url = url
        self.status = status
        self.retry_after = retry_after
