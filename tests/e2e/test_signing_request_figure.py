"""Issue 19's figure: the time from a portal's signing request to its webhook, the median of 20
with a citizen signing over HTTP, on a SQLite server of this module's own (measured once, not
per database: it is a figure, and the behaviour is tested on both in test_signing_requests)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator

import pytest

from tests.e2e.signing_helpers import PIN, make_signers
from tests.e2e.test_signing_requests import FIGURES, Portal, _web, app, portal
from tests.support.server import KysoServer, own_server

__all__ = ["app", "portal"]  # the portal app and its registration, as the behaviour tests have


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    with own_server("sqlite", tmp_path_factory.mktemp("portal-figure")) as running:
        yield running


def test_the_time_from_a_portals_request_to_its_webhook(server: KysoServer, portal: Portal) -> None:
    """The figure the issue asks for: the median of 20, a citizen signing over HTTP (written to
    artifacts/figures.jsonl; each request signed and its webhook received is what is asserted,
    never a time)."""
    (signer,) = make_signers(server, 1)
    web = _web(server, signer.account)
    times, after_signing = [], []
    for _ in range(20):
        started = time.monotonic()
        asked = portal.ask(server, signer.account, documents=1).json()
        token = web.form_token(f"/signing-requests/{asked['id']}")
        signed = web.http.post(f"/signing-requests/{asked['id']}",
                               data={"csrf": token, "pin": PIN}, timeout=120)  # fmt: skip
        answered = time.monotonic()
        assert signed.status_code == 303
        assert "status=signed" in signed.headers["location"]
        portal.app.hook_for(asked["id"])
        arrived = max(at for at, _ in portal.app.hooks)
        times.append(arrived - started)
        after_signing.append(arrived - answered)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.open("a") as out:  # the report's figure
        out.write(
            json.dumps(
                {
                    "metric": "signing_request_to_webhook_median_s",
                    "value": round(statistics.median(times), 2),
                    "n": len(times),
                    "webhook_after_the_citizens_answer_median_s": round(
                        statistics.median(after_signing), 3
                    ),
                }
            )
            + "\n"
        )
    assert len(portal.app.hooks) >= len(times)  # every request's webhook came (no timed bound)
