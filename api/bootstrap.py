"""First start and every start: data directory, master key, migrations, the CA hierarchy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from api.database import make_engine, migrate, startup_lock, unit_of_work
from api.settings import Settings
from billing.plans import seed_default_plans
from certs.authority import Authority, current_ca_certificates, load_authority
from certs.custody import HolderKeyCustody, SoftwareCustody
from certs.errors import CertsError
from certs.hierarchy import ensure_hierarchy, pending_request
from certs.keystore import FileKeyStore, KeyStore
from certs.masterkey import MasterKey, create_master_key_file, load_master_key
from certs.profiles import PkiUrls
from identity.audit import record_ca_key_use, record_key_generation

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "KeyCustody",
    "Runtime",
    "initialise",
    "master_key_for",
    "open_key_custody",
    "open_runtime",
    "pki_urls",
]

_SYSTEM = "system:init"

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Runtime:
    """What a process needs to serve: settings, engine, key store and the loaded CA."""

    settings: Settings
    engine: Engine
    master_key: MasterKey
    keystore: KeyStore
    custody: HolderKeyCustody
    """Who makes and opens citizens' keys (the software, or the token)."""
    authority: Authority
    urls: PkiUrls
    """Where certificates issued by this process point."""


def _now() -> datetime:
    return datetime.now(UTC)


def master_key_for(settings: Settings, *, create: bool) -> MasterKey:
    env_value = settings.master_key.get_secret_value() if settings.master_key else None
    if env_value is None and create:
        create_master_key_file(settings.master_key_path)
    return load_master_key(env_value=env_value, path=settings.master_key_path)


def _recorded_urls(authority: Authority) -> PkiUrls | None:
    """The public URL the hierarchy was created under (from the issuing CA's caIssuers)."""
    try:
        aia = authority.issuing.extensions.get_extension_for_class(
            x509.AuthorityInformationAccess
        ).value
    except x509.ExtensionNotFound:
        return None
    for description in aia:
        location = str(description.access_location.value)
        if location.endswith("/pki/ca/root.crt"):
            return PkiUrls(location.removesuffix("/pki/ca/root.crt"))
    return None


def pki_urls(settings: Settings, authority: Authority | None = None) -> PkiUrls:
    """KYSO_PUBLIC_URL, else the URL the CA was created under, else the default address."""
    if settings.public_url:
        return PkiUrls(settings.public_url)
    recorded = _recorded_urls(authority) if authority else None
    return recorded or PkiUrls(DEFAULT_PUBLIC_URL)


def _check_public_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"KYSO_PUBLIC_URL must be an http(s) URL, not {url!r}")


@dataclass(frozen=True)
class KeyCustody:
    """The configured key store, and the custody of citizens' keys that goes with it."""

    keystore: KeyStore
    custody: HolderKeyCustody
    token_keys: Callable[[], list[str]]
    """Creates the token's own keys (wrapping, PIN binding) when missing; the labels made."""


def _token_pin(settings: Settings) -> str:
    if settings.pkcs11_pin is not None:
        return settings.pkcs11_pin.get_secret_value()
    assert settings.pkcs11_pin_file is not None
    try:
        lines = settings.pkcs11_pin_file.read_text().splitlines()
    except OSError:
        raise CertsError(f"cannot read KYSO_PKCS11_PIN_FILE {settings.pkcs11_pin_file}") from None
    if not lines or not lines[0].strip():
        raise CertsError(f"KYSO_PKCS11_PIN_FILE {settings.pkcs11_pin_file} is empty")
    return lines[0].strip()


def open_key_custody(settings: Settings, master_key: MasterKey) -> KeyCustody:
    """The key store the settings name: sealed files (default) or a PKCS#11 token."""
    if settings.keystore == "file":
        return KeyCustody(FileKeyStore(settings.keystore_dir, master_key), SoftwareCustody(), list)
    from certs.pkcs11_store import Pkcs11KeyStore, TokenCustody
    from certs.pkcs11_token import Pkcs11Token, TokenConfig

    assert settings.pkcs11_module is not None
    assert settings.pkcs11_token_label is not None
    token = Pkcs11Token.shared(
        TokenConfig(
            module=settings.pkcs11_module,
            label=settings.pkcs11_token_label,
            pin=_token_pin(settings),
        )
    )
    custody = TokenCustody(token)
    return KeyCustody(Pkcs11KeyStore(token), custody, custody.ensure_keys)


def _audit_new_hierarchy(session: Session, settings: Settings, keystore_kind: str) -> None:
    """The key ceremony in the audit log: four keys made, the root and issuing keys used."""
    now = _now()
    rows = current_ca_certificates(session)
    for role, row in rows.items():
        record_key_generation(
            session,
            at=now,
            actor=_SYSTEM,
            key_id=row.key_id,
            purpose=f"{role} CA key" if role in ("root", "issuing") else f"{role} key",
            algorithm=settings.key_algorithm.value,
            key_store=keystore_kind,
        )
    for key_role, purpose, target_role in (
        ("root", "certificate", "root"),
        ("root", "certificate", "issuing"),
        ("root", "crl", "root"),
        ("issuing", "certificate", "ocsp"),
        ("issuing", "certificate", "tsa"),
        ("issuing", "crl", "issuing"),
    ):
        record_ca_key_use(
            session,
            at=now,
            actor=_SYSTEM,
            key_id=rows[key_role].key_id,
            purpose=purpose,
            target=f"{target_role}:{rows[target_role].serial}",
        )


def _prepare(settings: Settings) -> tuple[MasterKey, KeyCustody, PkiUrls]:
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    master_key = master_key_for(settings, create=True)
    urls = pki_urls(settings)
    _check_public_url(urls.base)
    return master_key, open_key_custody(settings, master_key), urls


def initialise(settings: Settings, *, hierarchy: bool = True) -> bool:
    """Create what is missing (idempotent, safe across processes). True when the CA was made.

    ``hierarchy=False`` stops before the self-made root (an issuing CA under a parent root is
    requested instead)."""
    _, keys, urls = _prepare(settings)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with startup_lock(engine, settings.data_dir):
            migrate(engine)
            with unit_of_work(engine) as session:
                seed_default_plans(session)
                for label in keys.token_keys():
                    record_key_generation(
                        session,
                        at=_now(),
                        actor=_SYSTEM,
                        key_id=label,
                        purpose="token key for citizens' keys",
                        algorithm="aes-256" if "wrapping" in label else "hmac-sha256",
                        key_store=keys.keystore.kind,
                    )
            if not hierarchy:
                return False
            with unit_of_work(engine) as session:
                created = ensure_hierarchy(
                    session,
                    keys.keystore,
                    algorithm=settings.key_algorithm,
                    urls=urls,
                    now=_now(),
                    crl_policy=settings.crl_policy,
                    rsa_pss=settings.rsa_signature_scheme == "pss",
                )
                if created:
                    _audit_new_hierarchy(session, settings, keys.keystore.kind)
                return created
    finally:
        engine.dispose()


class AwaitingIssuingCertificate(CertsError):
    """The instance asked a parent CA for its issuing certificate and has not imported it."""

    code = "admin.awaiting_issuing_certificate"


class NoInstallation(CertsError):
    """An operator command ran where there is no kyso installation."""

    code = "admin.no_installation"


def _require_installation(settings: Settings) -> None:
    """Admin commands act on an existing installation; they never create a CA of their own."""
    where = f"data directory {settings.data_dir.resolve()}"
    if settings.database_url:
        where += " and the database in KYSO_DATABASE_URL"
    hint = (
        f"no kyso installation at {where}: run the command from the server's directory, or "
        "set KYSO_DATA_DIR and KYSO_DATABASE_URL as the server has them (`kyso init` creates "
        "a new installation)"
    )
    if not settings.data_dir.is_dir() or (
        settings.keystore == "file" and not settings.keystore_dir.is_dir()
    ):
        raise NoInstallation(hint)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with Session(engine) as session:
            found = bool(current_ca_certificates(session))
    except SQLAlchemyError:
        found = False
    finally:
        engine.dispose()
    if not found:
        raise NoInstallation(hint)


def open_runtime(settings: Settings, *, create: bool = True) -> Runtime:
    """Load the CA for serving (``create``: initialise what is missing first) or for an admin
    command (``create=False``: refuse where there is no installation)."""
    if not create:
        _require_installation(settings)
    initialise(settings)
    master_key = master_key_for(settings, create=False)
    keys = open_key_custody(settings, master_key)
    engine = make_engine(settings.sqlalchemy_url)
    with Session(engine) as session:
        if not current_ca_certificates(session) and pending_request(session, "issuing"):
            engine.dispose()
            raise AwaitingIssuingCertificate(
                "the issuing CA's certificate from the parent (national) root is awaited: "
                "import it with `kyso admin import-issuing-ca --chain FILE`"
            )
        authority = load_authority(
            session, keys.keystore, rsa_pss=settings.rsa_signature_scheme == "pss"
        )
    return Runtime(
        settings=settings,
        engine=engine,
        master_key=master_key,
        keystore=keys.keystore,
        custody=keys.custody,
        authority=authority,
        urls=pki_urls(settings, authority),
    )
