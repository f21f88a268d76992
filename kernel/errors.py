"""The one error model: every refusal kyso raises is a :class:`KysoError`.

As pyHanko's validation errors do, an error carries typed fields of its own
(``InsufficientFunds(detail, price=…, balance=…, available=…)``) rather than a bag of keyword
arguments: each subclass declares them in its ``__init__`` and names them in ``FIELDS``, so a
response can show them and nothing else. ``code`` is stable and machine-readable; ``detail`` is
for people and never holds a secret. How a code is answered over HTTP (problem+json, CSC's or
OAuth's error format) is the API's one table (``api/errors.py``), not the domain's business.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = ["FieldValue", "IdempotencyConflict", "KysoError", "RequestInProgress"]

FieldValue = str | int | bool | None


class KysoError(Exception):
    """Base of every refusal with a stable code.

    ``commits_work`` marks errors whose bookkeeping (a failure counter, a lock, an audit
    record) must be committed although the request fails.
    """

    code: ClassVar[str] = "error"
    commits_work: ClassVar[bool] = False
    FIELDS: ClassVar[tuple[str, ...]] = ()
    """The names of the typed fields this error carries, shown beside ``detail``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def fields(self) -> dict[str, FieldValue]:
        """The error's typed fields by name (those that are set)."""
        values = {name: getattr(self, name) for name in self.FIELDS}
        return {name: value for name, value in values.items() if value is not None}


class IdempotencyConflict(KysoError):
    """An Idempotency-Key used again for a different request (another document, other
    options, another pack): the key names one request only."""

    code = "request.idempotency_conflict"
    FIELDS = ("earlier",)

    def __init__(self, detail: str, *, earlier: str | None = None) -> None:
        super().__init__(detail)
        self.earlier = earlier
        """What the key named first (a signature id, a pack code), when it may be shown."""


class RequestInProgress(KysoError):
    """The same request (its Idempotency-Key) is still being worked on: ask again after
    ``retry_after`` seconds for its result."""

    code = "request.in_progress"
    FIELDS = ("retry_after",)

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
