"""Errors of billing, each with a stable machine-readable code."""

from __future__ import annotations

__all__ = ["BillingError"]


class BillingError(Exception):
    """Base of every error raised by ``billing``; ``code`` is stable, ``detail`` for people."""

    code = "billing.error"
    commits_work = False

    def __init__(self, detail: str, **fields: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields
