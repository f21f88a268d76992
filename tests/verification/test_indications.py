"""Each fixture's indication and subindication, the way ETSI EN 319 102-1 names them."""

from __future__ import annotations

import pytest

from signing.verification import VerificationSettings, verify_pdf
from tests.support.attacks import HOSTILE
from tests.verification.conftest import Foreign

EXPECTED = {
    # name: (document indication, subindication, level, modifications, revocation status)
    "ltv": ("TOTAL_PASSED", None, "B-LT", "validation_data", "good"),
    "no_ltv": ("INDETERMINATE", "CERTIFICATE_CHAIN_GENERAL_FAILURE", "B-B", "none", "unknown"),
    "expired_timestamped_while_valid": ("TOTAL_PASSED", None, "B-LT", "validation_data", "good"),
    "revoked_before_signing": ("TOTAL_FAILED", "REVOKED", "B-LT", "validation_data", "revoked"),
    "revoked_after_signing": ("TOTAL_PASSED", None, "B-LT", "validation_data", "good"),
    "unknown_root": ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", "B-B", "none", "unknown"),
    "form_filled": ("TOTAL_PASSED", None, "B-LT", "form_filling", "good"),
    "annotated": ("TOTAL_PASSED", None, "B-LT", "annotations", "good"),
    "certified_p1_annotated": (
        "TOTAL_FAILED",
        "SIG_CONSTRAINTS_FAILURE",
        "B-LT",
        "annotations",
        "good",
    ),
    "certified_p2_form_filled": ("TOTAL_PASSED", None, "B-LT", "form_filling", "good"),
    "certified_p2_annotated": (
        "TOTAL_FAILED",
        "SIG_CONSTRAINTS_FAILURE",
        "B-LT",
        "annotations",
        "good",
    ),
    "certified_p3_annotated": ("TOTAL_PASSED", None, "B-LT", "annotations", "good"),
    "page_content_replaced": ("TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", "B-LT", "other", "good"),
    "page_added": ("TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", "B-LT", "other", "good"),
    "reason_changed": ("TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", "B-LT", "other", "good"),
    "appearance_hijack": ("TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE", "B-LT", "other", "good"),
    "revoked_forged_early_timestamp": (
        "TOTAL_FAILED",
        "REVOKED",
        "B-LT",
        "validation_data",
        "revoked",
    ),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_signed_fixture_gets_its_indication(foreign: Foreign, name: str) -> None:
    report = verify_pdf(foreign.files[name], VerificationSettings([foreign.pki.root.asn1]))
    indication, subindication, level, changes, revocation = EXPECTED[name]
    (signature,) = report.signatures
    assert (report.indication, report.subindication) == (indication, subindication), report.reasons
    assert (signature.indication, signature.subindication) == (indication, subindication)
    assert signature.level == level
    assert signature.modifications["level"] == changes
    assert signature.revocation["status"] == revocation
    certified = int(name[len("certified_p")]) if name.startswith("certified_p") else None
    assert signature.modifications["certification"] == certified
    assert (indication == "TOTAL_PASSED") == (not signature.reasons), signature.reasons


@pytest.mark.parametrize(
    ("name", "indication", "subindication"),
    [
        ("byte_range_broken", "TOTAL_FAILED", "HASH_FAILURE"),
        ("wrong_digest", "TOTAL_FAILED", "HASH_FAILURE"),
        ("not_a_pdf", "TOTAL_FAILED", "FORMAT_FAILURE"),
        ("unsigned", "TOTAL_FAILED", "SIGNED_DATA_NOT_FOUND"),
        ("document_timestamp_alone", "INDETERMINATE", "SIGNED_DATA_NOT_FOUND"),
        ("document_timestamp_then_content_replaced", "TOTAL_FAILED", "SIG_CONSTRAINTS_FAILURE"),
    ],
)
def test_broken_and_unusual_documents(
    foreign: Foreign, name: str, indication: str, subindication: str | None
) -> None:
    report = verify_pdf(foreign.files[name], VerificationSettings([foreign.pki.root.asn1]))
    assert (report.indication, report.subindication) == (indication, subindication), report.reasons


def test_what_the_report_says_of_the_signer_and_the_changes(foreign: Foreign) -> None:
    annotated = verify_pdf(
        foreign.files["annotated"], VerificationSettings([foreign.pki.root.asn1])
    )
    (signature,) = annotated.signatures
    assert signature.signer is not None
    assert (signature.signer["name"], signature.signer["uid"]) == (
        "Lê Văn Cường",
        "CCCD:001090001234",
    )
    assert signature.signer["organisation"] == "Công ty Ví Dụ"
    assert signature.trust_anchor is not None
    assert "Foreign Root CA" in signature.trust_anchor
    assert "Lê Văn Cường" in signature.chain[0]["subject"]  # signer first, then up to the root
    assert "Foreign Root CA" in signature.chain[-1]["subject"]
    assert {
        k: signature.modifications[k] for k in ("level", "allowed", "certification", "pages")
    } == {
        "level": "annotations",
        "allowed": True,
        "certification": None,
        "pages": [1],
    }
    assert signature.modifications["changes"] == [
        {"kind": "annotation_added", "page": 1, "detail": "Text"}
    ]
    (view,) = signature.modifications["view"]  # drawn: beside the signed text, not over it
    assert (view["page"], view["covered"]) == (1, 0)
    assert view["changed"] > 0
    assert any(
        "added after signing beside the signed content: page 1" in w for w in signature.warnings
    )
    assert signature.coverage == {"whole_document": False, "revision": 2, "revisions": 4}
    assert signature.timestamp_time is not None
    expired = verify_pdf(
        foreign.files["expired_timestamped_while_valid"],
        VerificationSettings([foreign.pki.root.asn1]),
    )
    assert any("expired since" in w for w in expired.signatures[0].warnings)


def test_without_the_foreign_root_nothing_is_trusted(foreign: Foreign) -> None:
    report = verify_pdf(foreign.files["ltv"], VerificationSettings([]))
    assert (report.indication, report.subindication) == (
        "INDETERMINATE",
        "NO_CERTIFICATE_CHAIN_FOUND",
    )


@pytest.mark.parametrize("name", [f"hostile_{n}" for n in HOSTILE])
def test_hostile_structures_get_a_verdict_never_an_error(foreign: Foreign, name: str) -> None:
    report = verify_pdf(foreign.files[name], VerificationSettings([foreign.pki.root.asn1]))
    assert report.indication in ("TOTAL_FAILED", "INDETERMINATE"), report.reasons
    assert report.reasons


def test_the_lone_time_stamp_is_judged_on_its_own(foreign: Foreign) -> None:
    report = verify_pdf(
        foreign.files["document_timestamp_alone"], VerificationSettings([foreign.pki.root.asn1])
    )
    (stamp,) = report.signatures
    assert (stamp.kind, stamp.indication) == ("document_timestamp", "TOTAL_PASSED")
    assert stamp.trust_anchor is not None
    assert "only document time-stamps" in report.reasons[0]
