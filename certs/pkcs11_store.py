"""The PKCS#11 key store: keys generated and used inside a token (an HSM; SoftHSM2 in tests).

CA, OCSP, TSA and token-signing keys are token objects, private, sensitive and never
extractable: the token signs, nothing else sees them. Citizens' keys are generated in the token
too, but kept outside it: wrapped (AES key wrap with padding, RFC 5649) by a token-held key,
then sealed under the PIN by :mod:`certs.protected_keys`, whose key derivation also runs
through the token (:meth:`TokenCustody.bind`): without the token, neither the wrapped key nor
the PIN check can be used.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import DEFAULT, MGF, Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from certs.errors import KeyStoreError
from certs.keys import KeyAlgorithm, KeyHandle, SignatureScheme, SigningKey
from certs.keystore import KeptKeys
from certs.pkcs11_token import Pkcs11Token

__all__ = ["WRAPPING_KEY", "Pkcs11KeyStore", "TokenCustody"]

WRAPPING_KEY = "kyso-wrapping-key-1"
"""AES-256 key that wraps citizens' keys (token object, never extractable)."""
PIN_BINDING_KEY = "kyso-pin-binding-key-1"
"""HMAC-SHA256 key through which every PIN-derived key is computed (token object)."""

_DIGEST_INFO = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}
"""DER DigestInfo prefixes (RFC 8017 9.2 note 1): CKM_RSA_PKCS signs DigestInfo || digest."""
_PSS_MECHANISM = {
    "sha256": (Mechanism.SHA256, MGF.SHA256),
    "sha384": (Mechanism.SHA384, MGF.SHA384),
    "sha512": (Mechanism.SHA512, MGF.SHA512),
}
# A private key's template: only signing; the capabilities python-pkcs11 would add for the
# public half (verify, encrypt, wrap) are invalid on a private key, so they are left out.
_PRIVATE_CAPABILITIES: dict[Attribute, Any] = {
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
    Attribute.ENCRYPT: DEFAULT,
    Attribute.VERIFY: DEFAULT,
    Attribute.WRAP: DEFAULT,
}
_PUBLIC_CAPABILITIES: dict[Attribute, Any] = {
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.WRAP: False,
    Attribute.DECRYPT: DEFAULT,
    Attribute.SIGN: DEFAULT,
    Attribute.UNWRAP: DEFAULT,
    Attribute.DERIVE: DEFAULT,
}
_KEPT_SECRET: dict[Attribute, Any] = {
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
}
_SECRET_USES = (
    Attribute.WRAP,
    Attribute.UNWRAP,
    Attribute.ENCRYPT,
    Attribute.DECRYPT,
    Attribute.SIGN,
    Attribute.VERIFY,
    Attribute.DERIVE,
)
"""A token secret key's capabilities: each one off but for the key's own use."""
_KEPT_PRIVATE: dict[Attribute, Any] = {
    **_PRIVATE_CAPABILITIES,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
}


def _public_key(public: Any) -> PublicKeyTypes:
    """A token public-key object as a cryptography public key."""
    if public.key_type == KeyType.EC:
        return serialization.load_der_public_key(encode_ec_public_key(public))
    modulus = int.from_bytes(public[Attribute.MODULUS], "big")
    exponent = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


def _generate_pair(
    session: Any,
    algorithm: KeyAlgorithm,
    *,
    label: str | None,
    store: bool,
    private_template: dict[Attribute, Any],
) -> tuple[Any, Any]:
    ident = label.encode() if label else None
    if algorithm.is_rsa:
        pair: tuple[Any, Any] = session.generate_keypair(
            KeyType.RSA,
            algorithm.key_size,
            store=store,
            label=label,
            id=ident,
            public_template=_PUBLIC_CAPABILITIES,
            private_template=private_template,
        )
        return pair
    params = session.create_domain_parameters(
        KeyType.EC,
        {Attribute.EC_PARAMS: encode_named_curve_parameters(algorithm.curve_oid)},
        local=True,
    )
    return cast(
        tuple[Any, Any],
        params.generate_keypair(
            store=store,
            label=label,
            id=ident,
            public_template=_PUBLIC_CAPABILITIES,
            private_template=private_template,
        ),
    )


def _sign_with(
    private: Any,
    algorithm: KeyAlgorithm,
    scheme: SignatureScheme,
    digest: bytes,
    hash_algorithm: hashes.HashAlgorithm,
) -> bytes:
    """A signature by a token private key over a digest, in the form X.509 and CMS carry."""
    if not algorithm.is_rsa:
        raw: bytes = private.sign(digest, mechanism=Mechanism.ECDSA)
        half = len(raw) // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )
    if hash_algorithm.name not in _DIGEST_INFO:
        raise KeyStoreError(f"the token signs SHA-2 digests, not {hash_algorithm.name}")
    if scheme is SignatureScheme.RSA_PSS:
        hash_mechanism, mgf = _PSS_MECHANISM[hash_algorithm.name]
        signature: bytes = private.sign(
            digest,
            mechanism=Mechanism.RSA_PKCS_PSS,
            mechanism_param=(hash_mechanism, mgf, hash_algorithm.digest_size),
        )
        return signature
    prefixed = _DIGEST_INFO[hash_algorithm.name] + digest
    return cast(bytes, private.sign(prefixed, mechanism=Mechanism.RSA_PKCS))


class _TokenKey(KeyHandle):
    """What the token's signing handles share: the token, and a public key read once."""

    def __init__(
        self,
        token: Pkcs11Token,
        key_id: str,
        public_key: PublicKeyTypes,
        scheme: SignatureScheme,
    ) -> None:
        super().__init__(key_id, KeyAlgorithm.of(public_key), scheme)
        self._token = token
        self._public_key = public_key

    def public_key(self) -> PublicKeyTypes:
        return self._public_key

    def sign(self, data: bytes) -> bytes:
        return self.sign_digest(hashlib.sha256(data).digest(), hashes.SHA256())

    def sign_digest(self, digest: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        raise NotImplementedError


class Pkcs11SigningKey(_TokenKey):
    """A key that lives in the token: the handle only names it."""

    def with_scheme(self, scheme: SignatureScheme) -> SigningKey:
        return Pkcs11SigningKey(self._token, self._key_id, self._public_key, scheme)

    def sign_digest(self, digest: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        with self._token.session() as session:
            private = self._token.find(session, ObjectClass.PRIVATE_KEY, self._key_id)
            return _sign_with(private, self._algorithm, self._scheme, digest, hash_algorithm)


class Pkcs11KeyStore:
    """Keys as token objects named by their key id (``CKA_LABEL`` and ``CKA_ID``)."""

    kind = "pkcs11"

    def __init__(self, token: Pkcs11Token) -> None:
        self._token = token

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore({self._token!r})"

    @property
    def token(self) -> Pkcs11Token:
        return self._token

    def generate(self, key_id: str, algorithm: KeyAlgorithm) -> SigningKey:
        with self._token.session() as session:
            if self._token.exists(session, key_id):
                raise KeyStoreError(f"a key named {key_id!r} exists already")
            public, _ = _generate_pair(
                session, algorithm, label=key_id, store=True, private_template=_KEPT_PRIVATE
            )
            public_key = _public_key(public)
        return Pkcs11SigningKey(self._token, key_id, public_key, SignatureScheme.default(algorithm))

    def load(self, key_id: str) -> SigningKey:
        with self._token.session() as session:
            public = self._token.find(session, ObjectClass.PUBLIC_KEY, key_id)
            public_key = _public_key(public)
        algorithm = KeyAlgorithm.of(public_key)
        return Pkcs11SigningKey(self._token, key_id, public_key, SignatureScheme.default(algorithm))

    def exists(self, key_id: str) -> bool:
        with self._token.session() as session:
            return self._token.exists(session, key_id)

    def kept(self) -> KeptKeys:
        """No copy: every key is a token object, backed up by the HSM's own means; a backup
        lists the labels so that a restore can check the token holds them."""
        with self._token.session() as session:
            labels = {
                str(obj[Attribute.LABEL])
                for object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.SECRET_KEY)
                for obj in session.get_objects({Attribute.CLASS: object_class})
            }
        return KeptKeys(store=self.kind, held_elsewhere=tuple(sorted(labels)))

    def put_sealed(self, key_id: str, sealed: bytes) -> None:
        raise KeyStoreError(
            f"{key_id}: a token's keys are restored by the HSM's own backup, not from a file"
        )


@dataclass(frozen=True)
class _Wrapped:
    """A citizen's key as kept outside the token (inside the PIN-sealed envelope)."""

    wrapping_key: str
    public_key: bytes
    wrapped: bytes

    _FORMAT = "kyso-token-wrapped-v1"

    def dump(self) -> bytes:
        return json.dumps(
            {
                "format": self._FORMAT,
                "wrapping_key": self.wrapping_key,
                "public_key": base64.b64encode(self.public_key).decode(),
                "wrapped": base64.b64encode(self.wrapped).decode(),
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def load(cls, data: bytes) -> _Wrapped:
        try:
            parsed = json.loads(data)
            if parsed["format"] != cls._FORMAT:
                raise ValueError(parsed["format"])
            return cls(
                wrapping_key=str(parsed["wrapping_key"]),
                public_key=base64.b64decode(parsed["public_key"]),
                wrapped=base64.b64decode(parsed["wrapped"]),
            )
        except (KeyError, TypeError, ValueError):
            raise KeyStoreError("the token-wrapped key is malformed") from None


class _WrappedSigningKey(_TokenKey):
    """A citizen's key: unwrapped into the token for each signature, then destroyed."""

    def __init__(
        self, token: Pkcs11Token, key_id: str, wrapped: _Wrapped, scheme: SignatureScheme
    ) -> None:
        super().__init__(
            token, key_id, serialization.load_der_public_key(wrapped.public_key), scheme
        )
        self._wrapped = wrapped

    def with_scheme(self, scheme: SignatureScheme) -> SigningKey:
        return _WrappedSigningKey(self._token, self._key_id, self._wrapped, scheme)

    def sign_digest(self, digest: bytes, hash_algorithm: hashes.HashAlgorithm) -> bytes:
        key_type = KeyType.RSA if self._algorithm.is_rsa else KeyType.EC
        with self._token.session() as session:
            wrapping = self._token.find(session, ObjectClass.SECRET_KEY, self._wrapped.wrapping_key)
            private = wrapping.unwrap_key(
                ObjectClass.PRIVATE_KEY,
                key_type,
                self._wrapped.wrapped,
                mechanism=Mechanism.AES_KEY_WRAP_PAD,
                store=False,
                template={
                    **_PRIVATE_CAPABILITIES,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                },
            )
            try:
                return _sign_with(private, self._algorithm, self._scheme, digest, hash_algorithm)
            finally:
                private.destroy()


class TokenCustody:
    """Citizens' keys made in the token, kept outside it wrapped by a token key."""

    kind = "pkcs11"

    def __init__(self, token: Pkcs11Token) -> None:
        self._token = token

    def ensure_keys(self) -> list[str]:
        """Create the wrapping and PIN-binding keys unless they exist; the labels made now.

        The caller holds the start-up lock, so two processes never both create them.
        """
        made = []
        with self._token.session() as session:
            for label, key_type, usage in (
                (WRAPPING_KEY, KeyType.AES, (Attribute.WRAP, Attribute.UNWRAP)),
                (PIN_BINDING_KEY, KeyType.GENERIC_SECRET, (Attribute.SIGN, Attribute.VERIFY)),
            ):
                if self._token.exists(session, label):
                    continue
                capabilities = {attribute: attribute in usage for attribute in _SECRET_USES}
                session.generate_key(key_type, 256, store=True, label=label, id=label.encode(),
                                     template={**_KEPT_SECRET, **capabilities})  # fmt: skip
                made.append(label)
        return made

    def generate(self, name: str, algorithm: KeyAlgorithm) -> tuple[PublicKeyTypes, bytes]:
        """A key made in the token as a session object, wrapped, then destroyed there."""
        with self._token.session() as session:
            wrapping = self._token.find(session, ObjectClass.SECRET_KEY, WRAPPING_KEY)
            public, private = _generate_pair(
                session,
                algorithm,
                label=None,
                store=False,
                private_template={
                    **_PRIVATE_CAPABILITIES,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: True,  # by the wrapping key only; never in clear
                },
            )
            try:
                public_key = _public_key(public)
                wrapped = wrapping.wrap_key(private, mechanism=Mechanism.AES_KEY_WRAP_PAD)
            finally:
                private.destroy()
                public.destroy()
        spki = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return public_key, _Wrapped(WRAPPING_KEY, spki, bytes(wrapped)).dump()

    def open(self, name: str, material: bytes) -> SigningKey:
        wrapped = _Wrapped.load(material)
        public_key = serialization.load_der_public_key(wrapped.public_key)
        if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise KeyStoreError(f"{name}: unsupported key type")
        scheme = SignatureScheme.default(KeyAlgorithm.of(public_key))
        return _WrappedSigningKey(self._token, name, wrapped, scheme)

    def bind(self, name: str, stretched: bytes) -> bytes:
        """HMAC-SHA256 by the token's PIN-binding key over the stretched secret: the part of
        the key-encryption key that only the token can compute."""
        with self._token.session() as session:
            key = self._token.find(session, ObjectClass.SECRET_KEY, PIN_BINDING_KEY)
            mac: bytes = key.sign(
                b"kyso pin binding v1:" + name.encode() + b":" + stretched,
                mechanism=Mechanism.SHA256_HMAC,
            )
            return mac
