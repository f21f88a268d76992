"""Issue 17 item 13: ``KYSO_ENV=production`` refuses to start on a development default, in one
clear line, before it makes anything (no data directory, no master key file)."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.databases import POSTGRES_ADMIN_URL
from tests.support.server import KYSO, KysoServer, free_port, kyso_env

SAFE = {"KYSO_ENV": "production", "KYSO_PUBLIC_URL": "https://kyso.example.vn",
        "KYSO_MASTER_KEY": secrets.token_hex(32), "KYSO_BANK_ACCOUNT": "1012345678"}  # fmt: skip


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = kyso_env(tmp_path / "kyso-data", f"sqlite:///{tmp_path}/kyso.db", **env)
    for name in [name for name, value in environment.items() if value == ""]:
        del environment[name]
    return subprocess.run(
        [KYSO, "serve", "--port", str(free_port())],
        env=environment, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("unsafe", "named"),
    [
        ({"KYSO_PUBLIC_URL": ""}, "KYSO_PUBLIC_URL"),
        ({"KYSO_PUBLIC_URL": "http://kyso.example.vn"}, "KYSO_PUBLIC_URL"),
        ({"KYSO_PUBLIC_URL": "https://"}, "KYSO_PUBLIC_URL"),
        ({"KYSO_MASTER_KEY": ""}, "KYSO_MASTER_KEY"),
        ({"KYSO_PAYMENT_PROVIDER": "fake"}, "KYSO_PAYMENT_PROVIDER=fake"),
        ({"KYSO_BANK_ACCOUNT": ""}, "KYSO_BANK_ACCOUNT"),
        ({"KYSO_VERIFY_ONLINE": "true", "KYSO_VERIFY_PRIVATE_ADDRESSES": "true"},
         "KYSO_VERIFY_PRIVATE_ADDRESSES"),
    ],
    ids=["no-public-url", "http-public-url", "no-host", "no-master-key", "fake-payments",
         "demo-bank-account", "private-fetches"],
)  # fmt: skip
def test_production_refuses_to_start_with_an_unsafe_default(
    tmp_path: Path, unsafe: dict[str, str], named: str
) -> None:
    refused = _serve(tmp_path, **{**SAFE, **unsafe})
    assert refused.returncode == 1, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("error [config.unsafe_production]: KYSO_ENV=production refuses")
    assert named in lines[0]
    assert not (tmp_path / "kyso-data").exists(), "nothing is made before the refusal"


def test_production_names_every_problem_at_once(tmp_path: Path) -> None:
    refused = _serve(tmp_path, KYSO_ENV="production", KYSO_PAYMENT_PROVIDER="fake")
    line = refused.stderr.strip()
    for named in ("KYSO_PUBLIC_URL", "KYSO_MASTER_KEY", "KYSO_PAYMENT_PROVIDER"):
        assert named in line
    assert "Traceback" not in refused.stderr


def test_a_bad_setting_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    refused = _serve(tmp_path, KYSO_MAX_PAGES="many")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error [config.invalid]: KYSO_MAX_PAGES: Input should be a valid integer, unable to "
        "parse string as an integer"
    ]


def test_a_missing_postgresql_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    missing = f"kyso_missing_{secrets.token_hex(4)}"
    url = POSTGRES_ADMIN_URL.rpartition("/")[0] + f"/{missing}"
    refused = _serve(tmp_path, KYSO_DATABASE_URL=url)
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"error [database.unreachable]: {url}: ")
    assert f'database "{missing}" does not exist' in line


@pytest.mark.parametrize("key_given", ["environment", "file"])
def test_production_starts_with_https_url_and_a_given_master_key(
    tmp_path: Path, key_given: str
) -> None:
    env = dict(SAFE)
    data_dir = tmp_path / "kyso-data"
    if key_given == "file":
        data_dir.mkdir()
        key = data_dir / "master.key"
        key.write_text(env.pop("KYSO_MASTER_KEY"))
        key.chmod(0o600)
    running = KysoServer(data_dir=data_dir, database_url=f"sqlite:///{tmp_path}/kyso.db",
                         extra_env=env).start()  # fmt: skip
    try:
        issuing = httpx.get(f"{running.url}/pki/ca/issuing.crt", timeout=10)
        assert issuing.status_code == 200
        assert b"https://kyso.example.vn/pki/" in issuing.content
    finally:
        running.stop()
