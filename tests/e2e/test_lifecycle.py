"""First start, restart, repeated init, and several server processes over one database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.databases import fresh_database
from tests.support.pki import fetch_pki_files, issue_with_csr, openssl
from tests.support.server import KysoServer, kyso_env, run_kyso
from tests.support.snapshot import database_rows, file_digests


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own for a test that watches a first start."""
    with fresh_database(backend, tmp_path) as url:
        yield url


def test_restart_keeps_the_same_ca(database_url: str, tmp_path: Path) -> None:
    server = KysoServer(data_dir=tmp_path / "kyso-data", database_url=database_url).start()
    try:
        first = {
            name: httpx.get(f"{server.url}/pki/ca/{name}.crt").content
            for name in ("root", "issuing")
        }
    finally:
        server.stop()
    server.start()
    try:
        second = {
            name: httpx.get(f"{server.url}/pki/ca/{name}.crt").content
            for name in ("root", "issuing")
        }
    finally:
        server.stop()
    assert first == second
    assert len(first["root"]) > 300


def test_init_twice_changes_nothing(database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "kyso-data"
    env = kyso_env(data_dir, database_url)

    first = json.loads(run_kyso(env, "init").stdout)
    rows, files = database_rows(database_url), file_digests(data_dir)
    second = json.loads(run_kyso(env, "init").stdout)

    assert first["created"] is True
    assert second["created"] is False
    assert second["root_sha256"] == first["root_sha256"]
    assert database_rows(database_url) == rows
    assert file_digests(data_dir) == files
    assert {row[1] for row in rows["ca_certificate"]} == {"root", "issuing", "ocsp", "tsa"}
    assert len(rows["ca_certificate"]) == 4


def test_master_key_file_readable_by_others_refuses_start(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "kyso-data"
    env = kyso_env(data_dir, database_url)
    run_kyso(env, "init")
    (data_dir / "master.key").chmod(0o644)

    result = run_kyso(env, "init", check=False)

    assert result.returncode != 0
    assert "readable by other users" in result.stderr
    assert "chmod 600" in result.stderr


@pytest.mark.slow
def test_two_processes_over_one_postgresql_share_one_ca(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path) as url:
        data_dir = tmp_path / "kyso-data"
        servers = [KysoServer(data_dir=data_dir, database_url=url) for _ in range(2)]
        # Both start at once: the start-up lock must let exactly one make the CA.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda s: s.start(), servers))
        try:
            roots = {httpx.get(f"{s.url}/pki/ca/root.crt").content for s in servers}
            assert len(roots) == 1
            assert len(database_rows(url)["ca_certificate"]) == 4

            pki = fetch_pki_files(servers[0].url, tmp_path)
            issued = issue_with_csr(servers[0], tmp_path)

            def status(server: KysoServer) -> str:
                return openssl(
                    "ocsp",
                    "-url",
                    f"{server.url}/pki/ocsp",
                    "-issuer",
                    str(pki.issuing),
                    "-cert",
                    str(issued.certificate),
                    "-CAfile",
                    str(pki.root),
                ).stdout.decode()

            assert all(f"{issued.certificate}: good" in status(s) for s in servers)
            servers[1].cli(
                "admin", "revoke", "--serial", issued.serial_hex, "--reason", "cessationOfOperation"
            )
            for server in servers:
                answer = status(server)
                assert (
                    "Response verify OK"
                    in openssl(
                        "ocsp",
                        "-url",
                        f"{server.url}/pki/ocsp",
                        "-issuer",
                        str(pki.issuing),
                        "-cert",
                        str(issued.certificate),
                        "-CAfile",
                        str(pki.root),
                    ).stderr.decode()
                )
                assert f"{issued.certificate}: revoked" in answer
                assert "Reason: cessationOfOperation" in answer
        finally:
            for server in servers:
                server.stop()


def test_serve_with_two_workers_answers_from_both(database_url: str, tmp_path: Path) -> None:
    server = KysoServer(data_dir=tmp_path / "kyso-data", database_url=database_url, workers=2)
    server.start()
    try:
        pki = fetch_pki_files(server.url, tmp_path)
        issued = issue_with_csr(server, tmp_path)
        for _ in range(6):  # new connections spread over both worker processes
            answer = openssl(
                "ocsp", "-url", f"{server.url}/pki/ocsp", "-issuer", str(pki.issuing),
                "-cert", str(issued.certificate), "-CAfile", str(pki.root),
            )  # fmt: skip
            assert f"{issued.certificate}: good" in answer.stdout.decode()
            assert "Response verify OK" in answer.stderr.decode()
    finally:
        server.stop()
    assert len(database_rows(database_url)["ca_certificate"]) == 4
