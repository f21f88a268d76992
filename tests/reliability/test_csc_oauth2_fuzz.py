"""The CSC OAuth 2.0 routes under generated requests: schemathesis over the token and
revocation endpoints and the CSC methods a portal's token opens (sent anonymously, with a
citizen's own token, a live ``service`` token and a forged one), and Hypothesis over the
authorization page's query (a signed-in citizen's browser). Nothing answers with a 5xx."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, urlsplit

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.signing_helpers import make_signers
from tests.support.fuzzing import Outcomes, send_generated
from tests.support.server import KysoServer
from tests.support.web import WebClient

PORTAL = "https://cong.example.vn/cb"
EXAMPLES = 25
FORGED = "kcsc_" + "A" * 43
VERIFIER = "v" * 43
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)
PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "code_challenge",
          "code_challenge_method", "state", "credentialID", "numSignatures", "hashes",
          "hashAlgorithmOID", "authorization_details")  # fmt: skip


def _service_token(server: KysoServer, web: WebClient, client_id: str, secret: str) -> str:
    """The code flow without a browser: the page, the yes, the code exchanged."""
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": PORTAL,
             "scope": "service", "code_challenge": CHALLENGE, "code_challenge_method": "S256"}  # fmt: skip
    page = web.http.get("/csc/v2/oauth2/authorize", params=query)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'name="(csrf|query)" value="([^"]+)"', page.text))
    fields["query"] = fields["query"].replace("&amp;", "&")
    answer = web.http.post("/csc/v2/oauth2/authorize", data={**fields, "decision": "approve"})
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    token = requests.post(f"{server.url}/csc/v2/oauth2/token", auth=(client_id, secret),
                          data={"grant_type": "authorization_code", "code": code,
                                "redirect_uri": PORTAL, "code_verifier": VERIFIER},
                          timeout=30)  # fmt: skip
    assert token.status_code == 200, token.text
    access: str = token.json()["access_token"]
    return access


def test_generated_requests_to_the_csc_oauth2_routes_get_no_server_error(
    server: KysoServer,
) -> None:
    created = json.loads(server.cli("admin", "oidc-client", "add", "--name", "Cổng thử",
                                    "--redirect-uri", PORTAL, "--scopes",
                                    "openid service credential").stdout)  # fmt: skip
    (signer,) = make_signers(server, 1)
    web = WebClient(server)
    web.sign_in(signer.account.email, signer.account.password)
    tokens = {"citizen": signer.account.access_token, "forged": FORGED,
              "service": _service_token(server, web, created["client_id"],
                                        created["client_secret"])}  # fmt: skip
    spec = requests.get(f"{server.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    wanted = ("/csc/v2/oauth2/", "/csc/v2/credentials/", "/csc/v2/signatures/")
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [o for o in operations if o.path.startswith(wanted)]
    assert len(operations) >= 6
    outcomes = Outcomes()
    with requests.Session() as session:
        for operation in operations:
            send_generated(operation, base_url=server.url, session=session, tokens=tokens,
                           roles=("anonymous", *tokens), examples=EXAMPLES,
                           outcomes=outcomes)  # fmt: skip

        @settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(query=st.dictionaries(st.sampled_from(PARAMS), st.text(max_size=80), max_size=8))
        def page(query: dict[str, str]) -> None:
            answer = web.http.get("/csc/v2/oauth2/authorize",
                                  params={"client_id": created["client_id"], **query})  # fmt: skip
            outcomes.statuses[answer.status_code] += 1
            if answer.status_code >= 500:
                outcomes.failures.append(f"authorize {query}: {answer.status_code}")

        page()
    assert not outcomes.failures, outcomes.failures
    assert sum(outcomes.statuses.values()) >= len(operations) * 5
