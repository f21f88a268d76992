"""Price plans: an administrator publishes a new version (from its effective date), billing
staff move an account to another plan; both audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.usecases.services import Services
from billing.accounts import set_plan
from billing.errors import InvalidBillingInput
from billing.models import BillingAccount, PricePlan
from billing.plans import PlanTerms, publish_plan
from identity.audit import record_audit

__all__ = ["AssignPlan", "PublishPlan", "assign", "publish"]


@dataclass(frozen=True, kw_only=True)
class PublishPlan:
    code: str
    terms: dict[str, Any]
    """:class:`billing.plans.PlanTerms` as JSON."""
    effective_from: datetime
    actor: str


def publish(services: Services, command: PublishPlan) -> PricePlan:
    if command.effective_from.tzinfo is None:
        raise InvalidBillingInput("effective_from needs a time zone", field="effective_from")
    terms = PlanTerms.from_dict(command.terms)
    now = services.clock()
    with services.unit_of_work() as session:
        plan = publish_plan(session, command.code, terms, effective_from=command.effective_from,
                            now=now, actor=command.actor)  # fmt: skip
        record_audit(session, at=now, actor=command.actor, action="billing.plan_publish",
                     target=f"{plan.code} v{plan.version}")  # fmt: skip
        return plan


@dataclass(frozen=True, kw_only=True)
class AssignPlan:
    account_id: str
    plan: str
    credit_limit: int | None = None
    actor: str


def assign(services: Services, command: AssignPlan) -> BillingAccount:
    now = services.clock()
    with services.unit_of_work() as session:
        account = set_plan(session, command.account_id, command.plan, now=now,
                           credit_limit=command.credit_limit)  # fmt: skip
        record_audit(session, at=now, actor=command.actor, action="billing.plan_assign",
                     target=command.account_id, plan=command.plan,
                     credit_limit=command.credit_limit)  # fmt: skip
        return account
