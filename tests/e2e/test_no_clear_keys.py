"""No private key lies in clear anywhere in the data directory, the database or the log."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from certs.envelope import open_envelope
from certs.masterkey import load_master_key
from tests.support.clear_keys import clear_forms
from tests.support.pki import issue_with_csr
from tests.support.server import KysoServer
from tests.support.snapshot import all_stored_bytes, database_rows


def test_no_private_key_in_clear_at_rest(server: KysoServer, workdir: Path) -> None:
    issue_with_csr(server, workdir)  # exercise issuance, CRL publication and OCSP first
    httpx.get(f"{server.url}/pki/crl/issuing.crl")

    master_key = load_master_key(env_value=None, path=server.data_dir / "master.key")
    key_ids = [row[2] for row in database_rows(server.database_url)["ca_certificate"]]
    assert len(key_ids) == 4
    secrets = []
    for key_id in key_ids:
        sealed = (server.data_dir / "keys" / f"{key_id}.key").read_bytes()
        secrets.extend(clear_forms(open_envelope(master_key, key_id, sealed)))

    stored = all_stored_bytes(server.database_url, server.data_dir)
    stored.append(server.log().encode())
    master_file = (server.data_dir / "master.key").read_bytes()
    for blob in stored:
        if blob == master_file:
            continue  # the master key itself is the one secret kept in clear, mode 0600
        assert not any(secret in blob for secret in secrets)
        assert not re.search(rb"PRIVATE KEY-----", blob)
    assert (server.data_dir / "master.key").stat().st_mode & 0o077 == 0
    assert all(path.stat().st_mode & 0o077 == 0 for path in (server.data_dir / "keys").iterdir())
