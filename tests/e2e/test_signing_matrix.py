"""Every level, both key types, visible or not, first and second signer: judged by tools we did
not write (pdfsig, qpdf, openssl cms, pyHanko fetching revocation over HTTP from our responders)."""

from __future__ import annotations

import hashlib
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.e2e.signing_helpers import Signer, make_signers, sign
from tests.support.databases import fresh_database
from tests.support.pdfs import simple_pdf, with_empty_field
from tests.support.pki import PkiFiles, fetch_pki_files
from tests.support.server import KysoServer, require_tool
from tests.support.validate import judge_signed_pdf

LEVELS = ["B-B", "B-T", "B-LT", "B-LTA"]
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts"


@pytest.fixture(scope="module")
def ecdsa_signers(server: KysoServer) -> list[Signer]:
    return make_signers(server)


@pytest.fixture(scope="session")
def rsa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KysoServer]:
    """A second installation whose CA and citizens' keys are RSA-3072 (SQLite)."""
    directory = tmp_path_factory.mktemp("rsa-server")
    with fresh_database("sqlite", directory) as url:
        running = KysoServer(data_dir=directory / "kyso-data", database_url=url,
                             extra_env={"KYSO_KEY_ALGORITHM": "rsa-3072"}).start()  # fmt: skip
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def rsa_signers(rsa_server: KysoServer) -> list[Signer]:
    return make_signers(rsa_server)


def _judge(document: Path, pki: PkiFiles, level: str, signatures: int, workdir: Path) -> None:
    judge_signed_pdf(document, pki.root, level, signatures, workdir)


def _matrix(signers: list[Signer], pki: PkiFiles, level: str, visible: bool, workdir: Path) -> None:
    first, second = signers
    fields = {"level": level, "reason": "Nộp hồ sơ", "location": "Hà Nội"}
    if not visible:
        fields["invisible"] = "true"
    once = sign(first, simple_pdf(2), **fields)
    assert once.status_code == 200, once.text
    assert once.headers["content-type"] == "application/pdf"
    one = workdir / "one.pdf"
    one.write_bytes(once.content)
    _judge(one, pki, level, 1, workdir)
    twice = sign(second, once.content, filename="one.pdf", **fields)
    assert twice.status_code == 200, twice.text
    two = workdir / "two.pdf"
    two.write_bytes(twice.content)
    _judge(two, pki, level, 2, workdir)
    reader = PdfFileReader(io.BytesIO(twice.content))
    rects = [sig.sig_field["/Kids"][0]["/Rect"] if "/Kids" in sig.sig_field else sig.sig_field.get("/Rect")
             for sig in reader.embedded_regular_signatures]  # fmt: skip
    sizes = [abs(float(r[2]) - float(r[0])) for r in rects]
    assert all(size > 0 for size in sizes) if visible else all(size == 0 for size in sizes)


@pytest.mark.parametrize("visible", [True, False], ids=["stamp", "invisible"])
@pytest.mark.parametrize("level", LEVELS)
def test_ecdsa_signatures_validate_everywhere(
    server: KysoServer, pki: PkiFiles, ecdsa_signers: list[Signer], level: str, visible: bool,
    workdir: Path,
) -> None:  # fmt: skip
    _matrix(ecdsa_signers, pki, level, visible, workdir)


@pytest.mark.parametrize("visible", [True, False], ids=["stamp", "invisible"])
@pytest.mark.parametrize("level", LEVELS)
def test_rsa_signatures_validate_everywhere(
    rsa_server: KysoServer, rsa_signers: list[Signer], level: str, visible: bool, workdir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:  # fmt: skip
    pki = fetch_pki_files(rsa_server.url, tmp_path_factory.mktemp("rsa-pki"))
    _matrix(rsa_signers, pki, level, visible, workdir)


def test_stamp_renders_vietnamese(
    server: KysoServer, ecdsa_signers: list[Signer], workdir: Path
) -> None:
    signed = sign(ecdsa_signers[0], simple_pdf(), level="B-B", page="1", rect="300,600,540,680",
                  reason="Đề nghị cấp phép xây dựng", location="Thành phố Hồ Chí Minh")  # fmt: skip
    assert signed.status_code == 200, signed.text
    document = workdir / "stamped.pdf"
    document.write_bytes(signed.content)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run([require_tool("pdftoppm"), "-r", "100", "-png", "-singlefile", str(document),
                    str(ARTEFACTS / "stamp-vi")], check=True)  # fmt: skip
    png = ARTEFACTS / "stamp-vi.png"
    image = Image.open(png).convert("L")
    scale = 100 / 72
    box = (int(300 * scale), int((842 - 680) * scale), int(540 * scale), int((842 - 600) * scale))
    inked = sum(image.crop(box).histogram()[:200])
    outside = sum(image.crop((0, 1000, 200, 1100)).histogram()[:200])
    assert inked > 500  # the stamp's frame and text are drawn where asked
    assert outside == 0


def test_existing_empty_field_and_certification(
    server: KysoServer, pki: PkiFiles, ecdsa_signers: list[Signer], workdir: Path
) -> None:
    first, second = ecdsa_signers
    certified = sign(first, with_empty_field("ChuKyCongDan"), level="B-T", field="ChuKyCongDan",
                     certify="2")  # fmt: skip
    assert certified.status_code == 200, certified.text
    reader = PdfFileReader(io.BytesIO(certified.content))
    assert [s.field_name for s in reader.embedded_regular_signatures] == ["ChuKyCongDan"]
    assert "/DocMDP" in reader.root["/Perms"]
    cosigned = sign(second, certified.content, level="B-T")
    assert cosigned.status_code == 200, cosigned.text
    document = workdir / "certified.pdf"
    document.write_bytes(cosigned.content)
    _judge(document, pki, "B-T", 2, workdir)
    refused = sign(second, certified.content, level="B-T", certify="1")
    assert refused.status_code == 422
    assert refused.json()["code"] == "signing.field_unusable"


def test_history_lists_signatures(server: KysoServer, ecdsa_signers: list[Signer]) -> None:
    signer = ecdsa_signers[0]
    made = sign(signer, simple_pdf(), level="B-B", invisible="true")
    signature_id = made.headers["x-signature-id"]
    listed = signer.account.client.get("/v1/signatures").json()
    assert signature_id in [entry["id"] for entry in listed]
    entry = next(e for e in listed if e["id"] == signature_id)
    assert entry["signed_sha256"] == hashlib.sha256(made.content).hexdigest()
    again = signer.account.client.get(f"/v1/signatures/{signature_id}/document")
    assert again.status_code == 200
    assert again.content == made.content
    other = ecdsa_signers[1].account.client.get(f"/v1/signatures/{signature_id}/document")
    assert other.status_code == 404
    assert httpx.get(f"{server.url}/v1/signatures").status_code == 401
