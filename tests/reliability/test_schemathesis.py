"""schemathesis over our own /openapi.json: requests generated from the schema, sent by
every role (and anonymously), answer with anything but a 5xx. Bounded: a few examples per
operation and role in CI; ``KYSO_SCHEMATHESIS_EXAMPLES`` raises it by hand."""

from __future__ import annotations

import os

import httpx
import requests
import schemathesis
from hypothesis import strategies as st

from tests.e2e.signing_helpers import make_signers
from tests.support.api import staff
from tests.support.artifacts import record
from tests.support.fuzzing import Outcomes, send_generated
from tests.support.pdfs import simple_pdf
from tests.support.server import KysoServer

EXAMPLES = int(os.environ.get("KYSO_SCHEMATHESIS_EXAMPLES", "6"))
ROLES = ("anonymous", "citizen", "registration_officer", "agency_officer", "billing_staff", "admin")
# PDF bodies (POST /v1/signatures/pdf): a real one-page PDF, or any bytes at all
schemathesis.openapi.media_type(
    "application/pdf", st.one_of(st.just(simple_pdf()), st.binary(max_size=4096))
)
SKIPPED = {("POST", "/v1/admin/token-keys/rotate")}
"""Rotating the token key signs everyone out: it would turn the rest of the run into 401s."""


def test_no_request_the_schema_allows_gets_a_server_error(server: KysoServer, backend: str) -> None:
    spec = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    (signer,) = make_signers(server, 1)
    tokens = {"citizen": signer.account.access_token}
    for role in ROLES[2:]:
        tokens[role] = staff(server, role).access_token
    outcomes = Outcomes()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60
    with requests.Session() as session:
        for operation in operations:
            if (operation.method.upper(), operation.path) in SKIPPED:
                continue
            send_generated(operation, base_url=server.url, session=session, tokens=tokens,
                           roles=ROLES, examples=EXAMPLES, outcomes=outcomes)  # fmt: skip
    failures = outcomes.failures
    record(f"schemathesis-{backend}", {"operations": len(operations), "roles": ROLES,
                                       "requests": sum(outcomes.statuses.values()),
                                       "statuses": dict(outcomes.statuses),
                                       "server_errors": failures})  # fmt: skip
    assert sum(outcomes.statuses.values()) >= len(operations)
    assert not failures, failures
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
