"""What a private key leaked in clear would look like, for scans of stored bytes."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def clear_forms(pkcs8_der: bytes) -> list[bytes]:
    """PKCS#8 and traditional DER, their base64, and the secret numbers raw and in hex."""
    key = serialization.load_der_private_key(pkcs8_der, password=None)
    traditional = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    if isinstance(key, ec.EllipticCurvePrivateKey):
        numbers = [key.private_numbers().private_value.to_bytes(32, "big")]
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        private = key.private_numbers()
        numbers = [
            n.to_bytes((n.bit_length() + 7) // 8, "big") for n in (private.d, private.p, private.q)
        ]
    return [
        pkcs8_der,
        traditional,
        base64.b64encode(pkcs8_der)[:40],
        base64.b64encode(traditional)[:40],
        *numbers,
        *(n.hex().encode() for n in numbers),
    ]
