"""Price plans: their terms, their versions, and the defaults seeded at first start."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, func, select

from billing.errors import InvalidBillingInput, PlanNotFound
from billing.models import PricePlan

__all__ = [
    "CITIZEN_PLAN",
    "DEFAULT_PLANS",
    "HASH_PRODUCT",
    "ORGANISATION_PLAN",
    "PRODUCTS",
    "SIGNATURE_PRODUCTS",
    "SIGNING_PRODUCTS",
    "Pack",
    "PlanTerms",
    "Tier",
    "all_plans",
    "plan_in_force",
    "publish_plan",
    "seed_default_plans",
]

SIGNATURE_PRODUCTS = {
    "B-B": "signature.B-B",
    "B-T": "signature.B-T",
    "B-LT": "signature.B-LT",
    "B-LTA": "signature.B-LTA",
}
HASH_PRODUCT = "signature.hash"
"""A hash signed through the CSC API."""
SIGNING_PRODUCTS = (*SIGNATURE_PRODUCTS.values(), HASH_PRODUCT)
"""Everything priced as a signature (tiers, quota, allowance, packs)."""
FLAT_PRODUCTS = ("timestamp", "certificate.issue", "verification")
PRODUCTS = (*SIGNATURE_PRODUCTS.values(), HASH_PRODUCT, *FLAT_PRODUCTS)

CITIZEN_PLAN = "citizen"
ORGANISATION_PLAN = "organisation"
_SINCE = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Tier:
    """Graduated per-use price: the ``start``-th signature of a year (0-based) and the ones
    after it cost ``price`` until the next tier starts."""

    start: int
    price: int

    @property
    def name(self) -> str:
        return f"tier:{self.start}+"


@dataclass(frozen=True)
class Pack:
    """A pack of ``signatures`` for ``price``, usable for ``months`` calendar months."""

    code: str
    signatures: int
    price: int
    months: int = 1


@dataclass(frozen=True)
class PlanTerms:
    """What a plan charges. Prices are integer VND, VAT included."""

    name: str
    tiers: tuple[Tier, ...] = ()
    """Per-use signature prices by yearly volume (per-use plans)."""
    flat_prices: dict[str, int] = field(default_factory=dict)
    """Prices of the products that are not signatures (time-stamp, certificate, verification)."""
    public_service_allowance: int = 0
    """Signatures a month free of charge when the request is flagged for a public service."""
    packs: tuple[Pack, ...] = ()
    monthly_fee: int = 0
    """Subscriptions: the fee invoiced at each month's close."""
    included_signatures: int = 0
    """Subscriptions: signatures a month covered by the fee."""
    overage_price: int | None = None
    """Subscriptions: the price of each signature beyond the quota (``None``: not a
    subscription)."""
    postpaid: bool = False
    """Accounts on this plan are invoiced for what they used rather than paying in advance."""

    @property
    def is_subscription(self) -> bool:
        return self.overage_price is not None

    def tier_for(self, yearly_count: int) -> Tier:
        """The tier of the next signature after ``yearly_count`` priced per use this year."""
        chosen = self.tiers[0]
        for tier in self.tiers:
            if tier.start <= yearly_count:
                chosen = tier
        return chosen

    def graduated_cost(self, signatures: int, *, already: int = 0) -> int:
        """What ``signatures`` more cost per use after ``already`` this year."""
        total, position, end = 0, already, already + signatures
        for index, tier in enumerate(self.tiers):
            upper = self.tiers[index + 1].start if index + 1 < len(self.tiers) else end
            low, high = max(position, tier.start), min(end, upper)
            if high > low:
                total += (high - low) * tier.price
        return total

    def monthly_cost(self, signatures: int) -> int:
        """What a month of ``signatures`` costs under these terms (packs and allowance aside)."""
        if self.is_subscription:
            assert self.overage_price is not None
            extra = max(0, signatures - self.included_signatures)
            return self.monthly_fee + extra * self.overage_price
        return self.graduated_cost(signatures)

    def pack(self, code: str) -> Pack:
        for pack in self.packs:
            if pack.code == code:
                return pack
        offered = ", ".join(p.code for p in self.packs) or "none"
        raise InvalidBillingInput(
            f"this plan sells no pack {code!r} (it sells: {offered})", field="pack"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PlanTerms:
        """Validated terms from their JSON form (``InvalidBillingInput`` when they make no
        sense: floats, negative prices, tiers out of order, a plan that prices nothing)."""
        try:
            terms = cls(
                name=_text(raw["name"]),
                tiers=tuple(
                    Tier(_count(t["start"]), _vnd(t["price"])) for t in raw.get("tiers", ())
                ),
                flat_prices={str(k): _vnd(v) for k, v in raw.get("flat_prices", {}).items()},
                public_service_allowance=_count(raw.get("public_service_allowance", 0)),
                packs=tuple(
                    Pack(
                        _pack_code(p["code"]),
                        _positive(p["signatures"]),
                        _vnd(p["price"]),
                        _positive(p.get("months", 1)),
                    )
                    for p in raw.get("packs", ())
                ),
                monthly_fee=_vnd(raw.get("monthly_fee", 0)),
                included_signatures=_count(raw.get("included_signatures", 0)),
                overage_price=None
                if raw.get("overage_price") is None
                else _vnd(raw["overage_price"]),
                postpaid=bool(raw.get("postpaid", False)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidBillingInput(f"plan terms are incomplete: {exc}", field="terms") from None
        terms._check()
        return terms

    def _check(self) -> None:
        unknown = set(self.flat_prices) - set(FLAT_PRODUCTS)
        if unknown:
            raise InvalidBillingInput(f"unknown products {sorted(unknown)}", field="flat_prices")
        missing = set(FLAT_PRODUCTS) - set(self.flat_prices)
        if missing:
            raise InvalidBillingInput(f"no price for {sorted(missing)}", field="flat_prices")
        if self.is_subscription:
            if self.tiers:
                raise InvalidBillingInput("a subscription prices signatures by its overage price")
            if not self.postpaid:
                raise InvalidBillingInput("subscriptions are postpaid: the fee is invoiced")
        else:
            starts = [t.start for t in self.tiers]
            if not starts or starts[0] != 0 or starts != sorted(set(starts)):
                raise InvalidBillingInput(
                    "per-use tiers start at 0 and rise strictly", field="tiers"
                )
            if self.monthly_fee or self.included_signatures:
                raise InvalidBillingInput("a monthly fee or quota needs an overage price")
        if len({p.code for p in self.packs}) != len(self.packs):
            raise InvalidBillingInput("pack codes must differ", field="packs")


def _vnd(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidBillingInput(
            f"prices are whole, non-negative VND (no decimals), not {value!r}"
        )
    return value


def _count(value: Any) -> int:
    return _vnd(value)


def _positive(value: Any) -> int:
    if _vnd(value) == 0:
        raise InvalidBillingInput(f"counts must be positive, not {value!r}")
    return int(value)


def _pack_code(value: Any) -> str:
    """Short, plain codes: ``pack.<code>`` is a product name (32 characters at most)."""
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,26}", value):
        raise InvalidBillingInput(
            "pack codes are 1 to 27 lower-case letters, digits and '-'", field="packs"
        )
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidBillingInput("names are non-empty text up to 200 characters")
    return value.strip()


_FREE_EXTRAS = {"timestamp": 500, "certificate.issue": 0, "verification": 0}

DEFAULT_PLANS: dict[str, PlanTerms] = {
    # The public anchor: 4,000 VND a signature for fewer than 1,000 a year, down to 500 VND
    # beyond 1,000,000; the steps between are ours.
    CITIZEN_PLAN: PlanTerms(
        name="Công dân: trả theo lượt ký",
        tiers=(
            Tier(0, 4_000),
            Tier(1_000, 3_000),
            Tier(10_000, 2_000),
            Tier(100_000, 1_000),
            Tier(1_000_000, 500),
        ),
        flat_prices=dict(_FREE_EXTRAS),
        public_service_allowance=5,
        packs=(
            Pack("pack-10", 10, 33_000),
            Pack("pack-50", 50, 132_000),
            Pack("pack-100", 100, 231_000),
        ),
    ),
    ORGANISATION_PLAN: PlanTerms(
        name="Tổ chức: thuê bao tháng",
        flat_prices=dict(_FREE_EXTRAS),
        monthly_fee=2_000_000,
        included_signatures=1_000,
        overage_price=2_000,
        postpaid=True,
    ),
    "organisation-large": PlanTerms(
        name="Tổ chức lớn: thuê bao tháng",
        flat_prices=dict(_FREE_EXTRAS),
        monthly_fee=10_000_000,
        included_signatures=10_000,
        overage_price=1_200,
        postpaid=True,
    ),
}


def seed_default_plans(session: Session) -> None:
    """Write version 1 of every default plan that does not exist yet (idempotent)."""
    existing = set(session.exec(select(PricePlan.code).distinct()))
    for code, terms in DEFAULT_PLANS.items():
        if code not in existing:
            session.add(
                PricePlan(
                    code=code,
                    version=1,
                    name=terms.name,
                    terms=terms.to_json(),
                    effective_from=_SINCE,
                    created_at=datetime.now(UTC),
                    created_by="seed",
                )
            )
    session.flush()


def plan_in_force(session: Session, code: str, at: datetime) -> tuple[PricePlan, PlanTerms]:
    """The version of plan ``code`` in force at ``at``."""
    row = session.execute(_IN_FORCE, {"code": code, "at": at}).scalars().first()
    if row is None:
        raise PlanNotFound(f"no price plan {code!r} in force", plan=code)
    return row, _terms_of(row.terms)


_IN_FORCE = (
    select(PricePlan)
    .where(PricePlan.code == bindparam("code"), col(PricePlan.effective_from) <= bindparam("at"))
    .order_by(col(PricePlan.effective_from).desc(), col(PricePlan.version).desc())
    .limit(1)
)
"""Built once: every charge reads the plan in force, twice for a signature."""


@lru_cache(maxsize=64)
def _terms_of(stored: str) -> PlanTerms:
    """A version's terms from their stored JSON (a version's terms never change)."""
    return PlanTerms.from_dict(json.loads(stored))


def all_plans(session: Session) -> list[PricePlan]:
    return list(
        session.exec(select(PricePlan).order_by(col(PricePlan.code), col(PricePlan.version)))
    )


def publish_plan(
    session: Session,
    code: str,
    terms: PlanTerms,
    *,
    effective_from: datetime,
    now: datetime,
    actor: str,
) -> PricePlan:
    """Add the next version of plan ``code`` (a new code starts at version 1). It takes effect
    at ``effective_from``, which may not lie in the past: charges already made keep the
    version they name."""
    if effective_from < now:
        raise InvalidBillingInput(
            "a plan version cannot take effect in the past", field="effective_from"
        )
    if not code.replace("-", "").isalnum() or len(code) > 40:
        raise InvalidBillingInput("plan codes are letters, digits and '-'", field="code")
    latest = session.exec(select(func.max(PricePlan.version)).where(PricePlan.code == code)).one()
    plan = PricePlan(
        code=code,
        version=(latest or 0) + 1,
        name=terms.name,
        terms=terms.to_json(),
        effective_from=effective_from,
        created_at=now,
        created_by=actor,
    )
    session.add(plan)
    session.flush()
    return plan
