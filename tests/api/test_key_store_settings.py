"""The key store and profile settings: the file store by default, PKCS#11 only when complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.bootstrap import open_key_custody
from api.settings import Settings
from certs.masterkey import MasterKey


def test_file_key_store_is_the_default(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    keys = open_key_custody(settings, MasterKey(b"\x01" * 32))
    assert keys.keystore.kind == "file"
    assert keys.custody.kind == "software"
    assert keys.keystore.kept().sealed == {}
    keys.keystore.generate("root-x", settings.key_algorithm)
    kept = keys.keystore.kept()
    assert (kept.store, list(kept.sealed)) == ("file", ["root-x"])
    assert kept.sealed["root-x"] == (tmp_path / "keys" / "root-x.key").read_bytes()


def test_pkcs11_key_store_names_what_it_lacks() -> None:
    with pytest.raises(ValidationError, match="KYSO_PKCS11_MODULE, KYSO_PKCS11_TOKEN_LABEL"):
        Settings(keystore="pkcs11")
    with pytest.raises(ValidationError, match="KYSO_PKCS11_PIN"):
        Settings(keystore="pkcs11", pkcs11_module=Path("/m.so"), pkcs11_token_label="kyso")


@pytest.mark.parametrize("days", [0, 1096])
def test_subscriber_validity_stays_within_three_years(days: int) -> None:
    with pytest.raises(ValidationError):
        Settings(subscriber_validity_days=days)
