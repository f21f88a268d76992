"""Our CA's own revocation answers, made in process for verification and reused for a minute,
are handed to each verifying thread as objects of its own: asn1crypto parses lazily and
without a lock, and one cached answer read by two threads at once failed with a KeyError
("No field numbered 2 …"), reported as a damaged signature (seen in the corpus test under
CI's load)."""

from __future__ import annotations

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from tests.usecases.conftest import Installation


def test_a_reused_answer_is_given_to_each_caller_as_its_own_objects(
    installation: Installation,
) -> None:
    verification = installation.services.verification
    authority = installation.services.runtime.authority
    issuing = asn1_x509.Certificate.load(authority.issuing.public_bytes(serialization.Encoding.DER))
    first = verification._our_revocation(issuing)
    second = verification._our_revocation(issuing)  # from the minute's cache
    assert len(verification._answers) == 1
    (first_crl,), (second_crl,) = first[1], second[1]  # the root's CRL for the issuing CA
    assert first[0] == second[0] == []
    assert first_crl.dump() == second_crl.dump()
    assert first_crl is not second_crl
    assert first_crl["tbs_cert_list"]["issuer"] == issuing.issuer  # signed by the root
