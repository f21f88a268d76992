"""The use cases over a real database of each backend, without HTTP: one installation (CA,
key store, migrated database) per backend for the session, and citizens made through the
use cases themselves."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest

from api.bootstrap import open_runtime
from api.file_digests import ReceivedFile, receive
from api.settings import Settings
from api.usecases import accounts, issue_credential, proof_identity, sign_document, top_up
from api.usecases.accounts import CreateUser, RegisterCitizen
from api.usecases.issue_credential import IssueCredential
from api.usecases.proof_identity import ProofIdentity
from api.usecases.services import Services, build_services
from api.usecases.sign_document import SignDocument, SignedDocument
from api.usecases.top_up import RecordTopUp
from identity.accounts import NewUser, ProofingEvidence
from identity.cccd import Gender
from identity.models import Role, User
from tests.support.databases import BACKENDS, fresh_database
from tests.support.pdfs import simple_pdf

PIN = "402917"
PASSWORD = "một mật khẩu dài 2026"
_serial = itertools.count(1)


@dataclass
class Installation:
    services: Services
    officer: User
    directory: Path

    def with_settings(self, **changes: object) -> Services:
        """The same installation's services with other settings (a shorter hold, …), built
        whole now as a server's are: their signing services' first use asks the TSA for a
        sample token, which a test that then slows or counts the TSA must not see."""
        runtime = self.services.runtime
        settings = runtime.settings.model_copy(update=changes)
        return replace(self.services, runtime=replace(runtime, settings=settings)).build_all()

    def citizen(self, *, funds: int = 1_000_000) -> tuple[User, str]:
        """A proofed citizen with a signing credential under ``PIN`` and ``funds`` VND."""
        n = next(_serial)
        born = date(1990, 5, 17)
        new = NewUser(email=f"citizen-{secrets.token_hex(4)}@example.vn", password=PASSWORD,
                      full_name="Nguyễn Thị Mai", cccd=f"0011{born.year % 100:02d}{n:06d}",
                      date_of_birth=born, gender=Gender.FEMALE, phone="0912 345 678")  # fmt: skip
        user = accounts.register(self.services, RegisterCitizen(new=new))
        evidence = ProofingEvidence(document="CCCD card", method="in_person")
        command = ProofIdentity(officer=self.officer, citizen_id=user.id, evidence=evidence)
        user = proof_identity.proof(self.services, command)
        issued = issue_credential.issue(self.services, IssueCredential(user=user, pin=PIN))
        if funds:
            top_up.record_top_up(
                self.services,
                RecordTopUp(email=user.email, amount=funds, reference=f"seed-{user.id}",
                            actor="test"),
            )  # fmt: skip
        return user, issued.credential.id

    def received(self, pdf: bytes) -> ReceivedFile:
        folder = self.directory / "uploads" / secrets.token_hex(8)
        folder.mkdir(parents=True)
        source = folder / "source.pdf"
        source.write_bytes(pdf)
        with source.open("rb") as stream:
            return receive(stream, folder / "upload.pdf")

    def sign(
        self, user: User, pdf: bytes | None = None, *, services: Services | None = None,
        **fields: object,
    ) -> SignedDocument:  # fmt: skip
        """``SignDocument`` with the PIN, B-B and no stamp unless told otherwise."""
        options: dict[str, object] = {"pin": PIN, "level": "B-B", "invisible": True, **fields}
        received = self.received(pdf or simple_pdf(text=secrets.token_hex(4)))
        command = SignDocument(**options)  # type: ignore[arg-type]
        return sign_document.sign(services or self.services, user, command, received,
                                  received.path.with_name("signed.pdf"))  # fmt: skip


@pytest.fixture(scope="session", params=BACKENDS)
def installation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installation]:
    directory = tmp_path_factory.mktemp(f"usecases-{request.param}")
    with fresh_database(str(request.param), directory) as url:
        settings = Settings(data_dir=directory / "kyso-data", database_url=url, env="test",
                            public_url="http://127.0.0.1:9")  # fmt: skip
        runtime = open_runtime(settings)
        services = build_services(runtime, eager=True)  # as a server builds them
        try:
            officer = accounts.create_user_account(
                services,
                CreateUser(new=NewUser(email=f"officer-{secrets.token_hex(4)}@kyso.test",
                                       password=PASSWORD, full_name="Cán bộ",
                                       role=Role.REGISTRATION_OFFICER), actor="test"),
            )  # fmt: skip
            yield Installation(services, officer, directory)
        finally:
            services.close()
            runtime.engine.dispose()
