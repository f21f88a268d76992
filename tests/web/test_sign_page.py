"""The signing page with documents that are not plain A4: inherited, rotated, cropped, huge or
empty page boxes; page pictures fetched all at once, as a browser does; one draft pressed twice."""

from __future__ import annotations

import concurrent.futures
import re

import httpx
import pytest

from tests.e2e.signing_helpers import PIN, make_signers
from tests.support.api import proof, register_citizen, staff
from tests.support.pdfs import page_geometry_pdf
from tests.support.server import KysoServer
from tests.support.web import WebClient

pytestmark = pytest.mark.one_database  # above the data layer: SQLite alone

_PICTURE = re.compile(
    r'data-page="(\d+)" data-box="([^"]+)" data-rotation="(\d+)"[^>]*>\s*<img src="([^"]+)" '
    r'width="(\d+)" height="(\d+)"'
)


@pytest.fixture(scope="module")
def citizen(server: KysoServer) -> tuple[WebClient, str]:
    (signer,) = make_signers(server, 1)
    client = WebClient(server)
    client.sign_in(signer.account.email, signer.account.password)
    return client, signer.account.email


def _upload(client: WebClient, pdf: bytes) -> httpx.Response:
    token = client.form_token("/sign")
    return client.http.post("/sign", data={"csrf": token},
                            files={"file": ("giay-to.pdf", pdf, "application/pdf")})  # fmt: skip


def _pictures(client: WebClient, pdf: bytes) -> tuple[str, list[tuple[str, ...]]]:
    uploaded = _upload(client, pdf)
    assert uploaded.status_code == 303, uploaded.text[:300]
    place = uploaded.headers["location"]
    page = client.http.get(place)
    assert page.status_code == 200
    return place, _PICTURE.findall(page.text)


@pytest.mark.parametrize(
    ("geometry", "box", "rotation", "landscape"),
    [
        ({"page": "/MediaBox [0 0 595 842]"}, "0.0,0.0,595.0,842.0", "0", False),
        ({"tree": "/MediaBox [0 0 612 792]", "page": ""}, "0.0,0.0,612.0,792.0", "0", False),
        ({"page": "/MediaBox [0 0 595 842] /Rotate 90"}, "0.0,0.0,595.0,842.0", "90", True),
        ({"page": "/MediaBox [0 0 595 842] /CropBox [50 100 545 742]"},
         "50.0,100.0,545.0,742.0", "0", False),
    ],
)  # fmt: skip
def test_the_picture_shows_the_page_as_drawn(
    citizen: tuple[WebClient, str],
    geometry: dict[str, str],
    box: str,
    rotation: str,
    landscape: bool,
) -> None:
    client, _ = citizen
    _, pictures = _pictures(client, page_geometry_pdf(**geometry))
    ((number, seen_box, seen_rotation, source, width, height),) = pictures
    assert (number, seen_box, seen_rotation) == ("1", box, rotation)
    png = client.http.get(source)
    assert png.headers["content-type"] == "image/png"
    # the PNG has the size the page announces, landscape when rotated
    assert png.content[16:24] == int(width).to_bytes(4, "big") + int(height).to_bytes(4, "big")
    assert (int(width) > int(height)) is landscape


def test_a_huge_page_is_drawn_small_and_an_empty_one_is_refused(
    server: KysoServer, citizen: tuple[WebClient, str]
) -> None:
    client, _ = citizen
    _, pictures = _pictures(client, page_geometry_pdf(page="/MediaBox [0 0 160 1000000]"))
    ((_, _, _, source, width, height),) = pictures
    assert int(width) * int(height) <= 4_000_000
    assert client.http.get(source).status_code == 200
    refused = _upload(client, page_geometry_pdf(page="/MediaBox [0 0 0 842]"))
    assert refused.status_code == 422
    assert "Không đọc được tệp PDF này" in refused.text
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_every_page_picture_at_once_leaves_the_server_standing(
    server: KysoServer, citizen: tuple[WebClient, str]
) -> None:
    from tests.support.pdfs import simple_pdf

    client, _ = citizen
    _, pictures = _pictures(client, simple_pdf(pages=14))
    assert len(pictures) == 12  # the first eleven and the last
    cookies = dict(client.http.cookies)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(
            lambda p: httpx.get(server.url + p[3], cookies=cookies, timeout=30), pictures * 3
        ))  # fmt: skip
    assert {a.status_code for a in answers} == {200}
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_pressing_sign_twice_signs_and_charges_once(
    server: KysoServer, citizen: tuple[WebClient, str]
) -> None:
    client, _ = citizen
    place, _ = _pictures(client, page_geometry_pdf())
    token = client.form_token(place)
    form = {"csrf": token, "pin": PIN, "level": "B-B", "mode": "corner"}
    before = client.http.get("/me/signatures").text.count("/document")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: client.http.post(place, data=form), range(2)))
    assert [a.status_code for a in answers] == [303, 303]
    assert (
        answers[0].headers["location"].split("?")[0] == answers[1].headers["location"].split("?")[0]
    )
    again = client.http.post(place, data=form)  # a reload after it is signed: the same result
    assert again.status_code == 303
    assert again.headers["location"] == answers[0].headers["location"].split("?")[0]
    assert client.http.get("/me/signatures").text.count("/document") == before + 1


def test_a_locked_certificate_is_unlocked_with_the_puk_on_its_page(server: KysoServer) -> None:
    officer = staff(server, "registration_officer")
    citizen = register_citizen(server)
    proof(officer, citizen)
    issued = citizen.client.post("/v1/me/certificate", json={"pin": PIN}).json()
    for _ in range(5):  # five wrong PINs lock it, as a smart card
        citizen.client.post("/v1/me/authorisations", json={
            "credential_id": issued["credential_id"], "pin": "000000", "count": 1})  # fmt: skip
    client = WebClient(server)
    client.sign_in(citizen.email, citizen.password)
    page = client.http.get("/me/certificate").text
    assert "Mở khoá bằng mã PUK" in page
    wrong = client.post_form("/me/certificate/unlock", {"puk": "WRONG-PUK", "new_pin": "613592",
                                                         "new_pin_again": "613592"},
                             token_from="/me/certificate")  # fmt: skip
    assert wrong.status_code == 403
    done = client.post_form("/me/certificate/unlock", {"puk": issued["puk"], "new_pin": "613592",
                                                        "new_pin_again": "613592"},
                            token_from="/me/certificate")  # fmt: skip
    assert done.status_code == 303
    assert "Đã mở khoá chứng thư" in client.http.get(done.headers["location"]).text
    (credential,) = citizen.client.get("/v1/me/credentials").json()
    assert credential["status"] == "active"
    assert credential["credential_id"] == issued["credential_id"]
