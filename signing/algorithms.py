"""The signature algorithms a verification can check, beyond pyHanko's own.

pyHanko checks RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA with DER-encoded values and EdDSA. Signers
following BSI TR-03111 write ECDSA values plainly, r and s side by side (the PLAIN-ECDSA
object identifiers); they are checked here. An algorithm nobody here can check raises
:class:`UnsupportedAlgorithm`, which a verification reports as INDETERMINATE with that reason,
never as a signature that does not match.
"""

from __future__ import annotations

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature
from pyhanko_certvalidator.errors import AlgorithmNotSupported
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

__all__ = ["PLAIN_ECDSA", "KysoSignatureValidator", "UnsupportedAlgorithm", "algorithm_name"]

_BSI = "0.4.0.127.0.7.1.1.4.1."
PLAIN_ECDSA: dict[str, type[hashes.HashAlgorithm]] = {
    _BSI + "1": hashes.SHA1,
    _BSI + "2": hashes.SHA224,
    _BSI + "3": hashes.SHA256,
    _BSI + "4": hashes.SHA384,
    _BSI + "5": hashes.SHA512,
    _BSI + "8": hashes.SHA3_224,
    _BSI + "9": hashes.SHA3_256,
    _BSI + "10": hashes.SHA3_384,
    _BSI + "11": hashes.SHA3_512,
}
"""BSI TR-03111 ecdsa-plain-SHA* object identifiers and their digests."""


class UnsupportedAlgorithm(Exception):
    """The signature uses an algorithm that cannot be checked here."""

    def __init__(self, algorithm: str) -> None:
        super().__init__(algorithm)
        self.algorithm = algorithm


def algorithm_name(algorithm: algos.SignedDigestAlgorithm) -> str:
    """A readable name: ``ecdsa-plain-sha256`` for the BSI identifiers, asn1crypto's name
    (``sha256_ecdsa``, ``rsassa_pss``…) or the dotted identifier otherwise."""
    oid = algorithm["algorithm"].dotted
    if oid in PLAIN_ECDSA:
        return f"ecdsa-plain-{PLAIN_ECDSA[oid].name}"
    return str(algorithm["algorithm"].native)


def _verify_plain_ecdsa(
    signature: bytes,
    signed_data: bytes,
    public_key_info: keys.PublicKeyInfo,
    digest: type[hashes.HashAlgorithm],
    prehashed: bool,
) -> None:
    key = serialization.load_der_public_key(public_key_info.dump())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidSignature("a PLAIN-ECDSA signature needs an elliptic-curve key")
    size = (key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        raise InvalidSignature("a PLAIN-ECDSA value is r and s, each the size of the curve")
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    chosen = digest()
    mechanism = ec.ECDSA(Prehashed(chosen) if prehashed else chosen)
    key.verify(encode_dss_signature(r, s), signed_data, mechanism)


class KysoSignatureValidator(DefaultSignatureValidator):
    """pyHanko's validator, plus PLAIN-ECDSA; an unknown algorithm is named, not failed."""

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        oid = signature_algorithm["algorithm"].dotted
        if oid in PLAIN_ECDSA:
            _verify_plain_ecdsa(
                signature, signed_data, public_key_info, PLAIN_ECDSA[oid], context.prehashed
            )
            return
        try:
            super().validate_signature(
                signature, signed_data, public_key_info, signature_algorithm, context
            )
        except (AlgorithmNotSupported, NotImplementedError) as exc:
            raise UnsupportedAlgorithm(algorithm_name(signature_algorithm)) from exc
        except ValueError as exc:
            if "not supported" in str(exc).lower() or "unsupported" in str(exc).lower():
                raise UnsupportedAlgorithm(algorithm_name(signature_algorithm)) from exc
            raise
