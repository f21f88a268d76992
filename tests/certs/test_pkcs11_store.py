"""The PKCS#11 key store on SoftHSM2: keys made and used in the token, citizens' keys wrapped."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pkcs11 import Attribute, ObjectClass

from certs.custody import SoftwareCustody
from certs.errors import KeyNotFound, KeyStoreError, TokenUnavailable, WrongSecret
from certs.keys import KeyAlgorithm, SignatureScheme, SigningKey
from certs.masterkey import MasterKey
from certs.pkcs11_store import WRAPPING_KEY, Pkcs11KeyStore, TokenCustody
from certs.pkcs11_token import Pkcs11Token, TokenConfig
from certs.protected_keys import ProtectedKeyVault
from tests.support.softhsm import USER_PIN, SoftHsm, Token

MASTER = MasterKey(bytes(range(32)))


@pytest.fixture(scope="module")
def token(softhsm: SoftHsm) -> Token:
    return softhsm.init_token()


@pytest.fixture(scope="module")
def connection(token: Token) -> Pkcs11Token:
    return Pkcs11Token.shared(
        TokenConfig(module=token.hsm.module, label=token.label, pin=USER_PIN, retry_seconds=0.2)
    )


@pytest.fixture(scope="module")
def store(connection: Pkcs11Token) -> Pkcs11KeyStore:
    return Pkcs11KeyStore(connection)


@pytest.fixture(scope="module")
def custody(connection: Pkcs11Token) -> TokenCustody:
    custody = TokenCustody(connection)
    custody.ensure_keys()
    return custody


def _verify(key: SigningKey, signature: bytes, data: bytes) -> None:
    public_key = key.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    elif key.scheme is SignatureScheme.RSA_PSS:
        assert isinstance(public_key, rsa.RSAPublicKey)
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        public_key.verify(signature, data, pss, hashes.SHA256())
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize(
    ("algorithm", "scheme"),
    [
        (KeyAlgorithm.ECDSA_P256, SignatureScheme.ECDSA),
        (KeyAlgorithm.RSA_3072, SignatureScheme.RSA_PKCS1V15),
        (KeyAlgorithm.RSA_3072, SignatureScheme.RSA_PSS),
    ],
    ids=["ecdsa", "rsa-pkcs1v15", "rsa-pss"],
)
def test_token_key_signs_verifiably_after_reload(
    store: Pkcs11KeyStore, algorithm: KeyAlgorithm, scheme: SignatureScheme
) -> None:
    key_id = f"unit-{algorithm.value}-{scheme.value}"
    generated = store.generate(key_id, algorithm)
    reloaded = store.load(key_id).with_scheme(scheme)
    assert reloaded.algorithm is algorithm
    assert reloaded.public_key() == generated.public_key()
    _verify(reloaded, reloaded.sign(b"to khai thue"), b"to khai thue")
    assert store.exists(key_id)


def test_token_keys_are_sensitive_private_and_never_extractable(
    store: Pkcs11KeyStore, connection: Pkcs11Token
) -> None:
    store.generate("unit-attributes", KeyAlgorithm.ECDSA_P256)
    with connection.session() as session:
        private = connection.find(session, ObjectClass.PRIVATE_KEY, "unit-attributes")
        assert private[Attribute.SENSITIVE] is True
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        assert private[Attribute.PRIVATE] is True
        assert private[Attribute.TOKEN] is True


def test_key_ids_are_unique_and_missing_ones_are_reported(store: Pkcs11KeyStore) -> None:
    store.generate("unit-unique", KeyAlgorithm.ECDSA_P256)
    with pytest.raises(KeyStoreError, match="exists"):
        store.generate("unit-unique", KeyAlgorithm.ECDSA_P256)
    with pytest.raises(KeyNotFound):
        store.load("unit-absent")
    kept = store.kept()
    assert kept.store == "pkcs11"
    assert kept.sealed == {}
    assert "unit-unique" in kept.held_elsewhere
    with pytest.raises(KeyStoreError, match="HSM's own backup"):
        store.put_sealed("unit-copy", b"sealed")


@pytest.fixture
def vault(custody: TokenCustody) -> ProtectedKeyVault:
    return ProtectedKeyVault(MASTER, custody)


def test_citizen_key_is_kept_only_wrapped_and_signs_with_the_pin(vault: ProtectedKeyVault) -> None:
    public_key, (by_pin, by_puk) = vault.generate(
        "credential-unit-1", KeyAlgorithm.ECDSA_P256, [b"402917", b"PUKPUKPUK"]
    )
    key = vault.open("credential-unit-1", by_pin, b"402917")
    signature = key.sign(b"hop dong")
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, b"hop dong", ec.ECDSA(hashes.SHA256()))
    assert json.loads(by_pin)["custody"] == "pkcs11"
    with pytest.raises(WrongSecret):
        vault.open("credential-unit-1", by_pin, b"111111")
    assert vault.open("credential-unit-1", by_puk, b"PUKPUKPUK").public_key() == public_key


def test_database_and_master_key_without_the_token_cannot_check_a_pin(
    vault: ProtectedKeyVault,
) -> None:
    """Everything but the token (the sealed blob, the master key, even the right PIN) is not
    enough to tell a right PIN from a wrong one: the key-encryption key needs the token."""
    _, (sealed, _) = vault.generate(
        "credential-unit-2", KeyAlgorithm.ECDSA_P256, [b"402917", b"PUK"]
    )
    envelope = json.loads(sealed)
    salt = base64.b64decode(envelope["salt"])
    stretched = hash_secret_raw(
        b"402917", salt, hash_len=32, type=Type.ID, time_cost=2, memory_cost=19456, parallelism=1
    )
    offline_kek = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=b"kyso-protected-key-v1:credential-unit-2",
    ).derive(MASTER.derive(b"kyso protected key v1") + stretched)
    with pytest.raises(InvalidTag):
        AESGCM(offline_kek).decrypt(
            base64.b64decode(envelope["nonce"]),
            base64.b64decode(envelope["ciphertext"]),
            b"kyso-protected-key-v1:credential-unit-2",
        )
    # the software custody (what a thief would run) cannot open it with the right PIN either
    with pytest.raises(KeyStoreError, match="pkcs11 custody"):
        ProtectedKeyVault(MASTER, SoftwareCustody()).open("credential-unit-2", sealed, b"402917")


def test_inner_material_is_a_token_wrapped_key_not_a_clear_one(
    vault: ProtectedKeyVault, custody: TokenCustody
) -> None:
    _, (sealed, _) = vault.generate("credential-unit-3", KeyAlgorithm.RSA_3072, [b"402917", b"P"])
    material = vault._open_der("credential-unit-3", sealed, b"402917")  # the PIN-opened layer
    wrapped = json.loads(material)
    assert wrapped["format"] == "kyso-token-wrapped-v1"
    assert wrapped["wrapping_key"] == WRAPPING_KEY
    assert b"\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01" not in material
    key = custody.open("credential-unit-3", material).with_scheme(SignatureScheme.RSA_PSS)
    _verify(key, key.sign(b"x"), b"x")


def test_removed_token_fails_fast_with_token_unavailable_and_recovers(
    token: Token, store: Pkcs11KeyStore
) -> None:
    key = store.generate("unit-removal", KeyAlgorithm.ECDSA_P256)
    key.sign(b"before")
    token.remove()
    try:
        with pytest.raises(TokenUnavailable):
            key.sign(b"while away")
        started = time.monotonic()
        with pytest.raises(TokenUnavailable):
            key.sign(b"again")
        assert time.monotonic() - started < 1.0  # no hang: the failure is remembered
    finally:
        token.restore()
    time.sleep(0.3)  # past retry_seconds
    _verify(key, key.sign(b"after"), b"after")


def test_wrong_module_path_is_token_unavailable(token: Token) -> None:
    broken = Pkcs11Token(TokenConfig(module=token.hsm.tokens / "absent.so", label="x", pin="1"))
    with pytest.raises(TokenUnavailable, match="cannot be reached"), broken.session():
        pass


@pytest.fixture(autouse=True)
def _no_leftover(token: Token) -> Iterator[None]:
    yield
    away = token.directory.with_name(token.directory.name + ".away")
    if away.exists():
        token.restore()
