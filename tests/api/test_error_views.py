"""The adapters' mapping, without a server: every refusal has its row in the one error table,
and problem+json, CSC's and OAuth's formats are views of that row; a signing request's fields
become its command (and its fingerprint) as the use case expects."""

from __future__ import annotations

import json

import pytest

import api.errors
import billing.errors
import certs.errors
import identity.errors
import signing.errors
from api.errors import ERRORS, CscInvalidRequest, answer_for, csc_view, oauth_view, problem_view
from api.usecases.sign_document import SignDocument
from billing.errors import InsufficientFunds
from certs.errors import KeyStoreError
from identity.errors import (
    AccessDenied,
    CredentialLocked,
    InvalidToken,
    OidcError,
    PinAttemptsBusy,
    Throttled,
    WrongPin,
)
from identity.models import User
from kernel.errors import IdempotencyConflict, KysoError, RequestInProgress
from signing.errors import InvalidOption

MODULES = (api.errors, billing.errors, certs.errors, identity.errors, signing.errors)


def _every_refusal() -> list[type[KysoError]]:
    found: list[type[KysoError]] = []
    todo = list(KysoError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    ours = {m.__name__ for m in MODULES} | {"kernel.errors"}
    return sorted((c for c in found if c.__module__ in ours), key=lambda c: c.__qualname__)


@pytest.mark.parametrize("cls", _every_refusal(), ids=lambda c: c.__qualname__)
def test_every_refusal_is_answered_by_its_own_domain_row_with_a_stable_code(
    cls: type[KysoError],
) -> None:
    row = next(base for base in cls.__mro__ if base in ERRORS)
    assert row is not KysoError or cls is KysoError, f"{cls.__name__} falls to the catch-all"
    assert cls.code != "error" or cls is KysoError
    assert 400 <= ERRORS[row].status < 600


def _body(response: object) -> dict[str, object]:
    return json.loads(response.body)  # type: ignore[attr-defined,no-any-return]


def test_problem_view_carries_the_typed_fields_and_the_protocol_headers() -> None:
    funds = problem_view(InsufficientFunds("top up first", price=4_000, balance=1, available=1))
    assert (funds.status_code, funds.media_type) == (402, "application/problem+json")
    assert _body(funds) | {"detail": ""} == {
        "type": "urn:kyso:problem:billing.insufficient_funds", "title": "Payment required",
        "status": 402, "code": "billing.insufficient_funds", "detail": "", "price": 4_000,
        "balance": 1, "available": 1,
    }  # fmt: skip
    busy = problem_view(RequestInProgress("still signing", retry_after=1))
    assert (busy.status_code, busy.headers["retry-after"]) == (409, "1")
    assert problem_view(Throttled("wait", retry_after=30)).headers["retry-after"] == "30"
    missing = problem_view(InvalidToken("sign in", missing=True))
    assert missing.headers["www-authenticate"] == 'Bearer realm="kyso"'
    assert _body(problem_view(IdempotencyConflict("reused", earlier="sig-1")))["earlier"] == "sig-1"
    hidden = problem_view(KeyStoreError("/var/kyso/keys/ca.key is unreadable"))
    assert hidden.status_code == 500
    assert "detail" not in _body(hidden), "a 5xx detail may name files or keys"


@pytest.mark.parametrize(
    ("error", "status", "name"),
    [
        (WrongPin("wrong PIN", attempts_left=4), 400, "invalid_pin"),
        (CredentialLocked("locked"), 423, "credential_locked"),
        (PinAttemptsBusy("busy"), 423, "credential_locked"),
        (InsufficientFunds("poor", price=1, balance=0, available=0), 402, "payment_required"),
        (InvalidToken("who?"), 401, "invalid_token"),
        (AccessDenied("citizens only"), 403, "access_denied"),
        (InvalidOption("Invalid parameter signAlgo"), 400, "invalid_request"),
        (CscInvalidRequest("Missing parameter SAD"), 400, "invalid_request"),
        (KeyStoreError("key file gone"), 500, "server_error"),
    ],
    ids=lambda v: getattr(v, "code", v),
)
def test_csc_view_is_the_same_row_in_cscs_names(error: KysoError, status: int, name: str) -> None:
    response = csc_view(error)
    assert response.status_code == status
    body = _body(response)
    assert body["error"] == name
    assert body["error_description"] == (error.detail if status < 500 else "internal error")


def test_oauth_view_takes_the_status_from_the_oauth_name() -> None:
    client = oauth_view(OidcError("invalid_client", "client authentication failed"))
    assert (client.status_code, client.headers["www-authenticate"]) == (401, 'Basic realm="kyso"')
    assert client.headers["cache-control"] == "no-store"
    grant = oauth_view(OidcError("invalid_grant", "unknown code"))
    assert (grant.status_code, _body(grant)["error"]) == (400, "invalid_grant")
    token = oauth_view(InvalidToken("expired"))
    assert (token.status_code, _body(token)["error"]) == (401, "invalid_token")
    assert answer_for(OidcError("invalid_scope", "x")).status == 400


SIGNER = User(id="u", email="a@b.vn", role="citizen", full_name="Nguyễn Văn An",
              password_hash="x")  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"level": "B-XL"}, "level must be one of"),
        ({"rect": "a,b,c,d"}, "rect must be four numbers"),
        ({"certify": 4}, "certify must be the DocMDP level"),
        ({"language": "fr"}, "language must be vi or en"),
        ({"sad": "s.x"}, "give the signing PIN"),
        ({"pin": None}, "give the signing PIN"),
    ],
)
def test_a_signing_request_is_refused_before_its_document_is_read(
    fields: dict[str, object], words: str
) -> None:
    command = SignDocument(**{"pin": "402917", **fields})  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match=words):
        command.options(SIGNER)


def test_a_signing_requests_fingerprint_names_the_document_and_its_options() -> None:
    base = SignDocument(pin="402917", level="B-T", reason="nộp hồ sơ")
    same = SignDocument(pin="000000", level="B-T", reason="nộp hồ sơ", otp="123456")
    assert base.fingerprint("d" * 64, "B-T") == same.fingerprint("d" * 64, "B-T")  # no secret
    assert base.fingerprint("d" * 64, "B-T") != base.fingerprint("e" * 64, "B-T")
    other = SignDocument(pin="402917", level="B-T", reason="khác")
    assert base.fingerprint("d" * 64, "B-T") != other.fingerprint("d" * 64, "B-T")
    options = base.options(SIGNER)
    assert (options.level.value, options.signer_name, options.reason) == (
        "B-T", "Nguyễn Văn An", "nộp hồ sơ",
    )  # fmt: skip
