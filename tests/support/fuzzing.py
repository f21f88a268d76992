"""schemathesis's generated requests sent as each role, counting statuses and server errors."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@dataclass
class Outcomes:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def send_generated(
    operation: schemathesis.APIOperation,
    *,
    base_url: str,
    session: requests.Session,
    tokens: dict[str, str],
    roles: tuple[str, ...],
    examples: int,
    outcomes: Outcomes,
) -> None:
    """``examples`` requests for ``operation``, each as one of ``roles`` (a role without a
    token is anonymous); a 5xx is written down."""

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(), role=st.sampled_from(roles))
    def call(case: schemathesis.Case, role: str) -> None:
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role in tokens else {}
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
        outcomes.statuses[response.status_code] += 1
        if response.status_code >= 500:
            outcomes.failures.append(f"{role} {case.method} {case.formatted_path}: "
                                     f"{response.status_code} {response.text[:200]}")  # fmt: skip

    call()
