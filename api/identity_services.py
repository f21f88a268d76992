"""Identity's services for one process, built once from the runtime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from api.bootstrap import Runtime
from certs.protected_keys import ProtectedKeyVault
from identity.authorisations import SignatureAuthoriser
from identity.credentials import CredentialService
from identity.otp import OneTimeCodes
from identity.passwords import LoginThrottle, Passwords
from identity.sessions import SignIn
from identity.tokens import TokenPolicy, TokenSigner
from identity.web_sessions import WebSessions

__all__ = ["IdentityServices", "build_identity_services"]


@dataclass(frozen=True)
class IdentityServices:
    passwords: Passwords
    codes: OneTimeCodes
    tokens: TokenSigner
    sign_in: SignIn
    credentials: CredentialService
    authoriser: SignatureAuthoriser
    web: WebSessions


def build_identity_services(runtime: Runtime) -> IdentityServices:
    passwords = Passwords()
    codes = OneTimeCodes(runtime.master_key)
    tokens = TokenSigner(runtime.keystore, TokenPolicy(issuer=runtime.urls.base))
    credentials = CredentialService(
        vault=ProtectedKeyVault(runtime.master_key, runtime.custody),
        authority=runtime.authority,
        urls=runtime.urls,
        algorithm=runtime.settings.key_algorithm,
        crl_policy=runtime.settings.crl_policy,
        lifetime=timedelta(days=runtime.settings.subscriber_validity_days),
    )
    return IdentityServices(
        passwords=passwords,
        codes=codes,
        tokens=tokens,
        sign_in=SignIn(
            passwords,
            codes,
            tokens,
            LoginThrottle(max_delay=timedelta(seconds=runtime.settings.login_max_wait_seconds)),
            source_failures=runtime.settings.login_source_failures,
        ),
        credentials=credentials,
        authoriser=SignatureAuthoriser(
            credentials, codes, lifetime=timedelta(seconds=runtime.settings.sad_lifetime_seconds)
        ),
        web=WebSessions(runtime.master_key.derive(b"kyso web form tokens v1")),
    )
