"""What a restore refuses, on each database, each time with one clear line and nothing written:
a changed byte, another instance's master key, shares below the threshold, a target that is not
empty, a broken audit chain, a newer schema, a database that differs from its manifest. And an
older schema, which is migrated."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

import migrations
from api.settings import Settings
from api.usecases.backup_facts import ledger_facts
from certs.masterkey import load_master_key
from tests.support.backups import backup_database, combine, reseal, split
from tests.support.databases import fresh_database
from tests.support.server import kyso_env, run_kyso

PASSWORD = "một mật khẩu dài 2026"


@dataclass
class Installation:
    backend: str
    env: dict[str, str]
    data_dir: Path
    database_url: str
    backup: Path
    shares: list[str]
    target_url: str
    """An empty database restores are tried into (PostgreSQL), shared: none may write to it."""
    work: Path


@pytest.fixture(scope="module")
def installation(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    work = tmp_path_factory.mktemp(f"refusals-{backend}")
    data_dir = work / "source" / "kyso-data"
    with fresh_database(backend, data_dir) as url, fresh_database(backend, work) as target:
        env = kyso_env(data_dir, url, KYSO_VAT_PERCENT="8")
        run_kyso(env, "init")
        run_kyso(env, "admin", "create-user", "--email", "an@example.vn", "--password", PASSWORD,
                 "--role", "citizen", "--full-name", "Trần Văn An", "--cccd", "001090012345",
                 "--date-of-birth", "1990-01-01", "--gender", "male", "--verified")  # fmt: skip
        run_kyso(env, "billing", "top-up", "--email", "an@example.vn", "--amount", "50000",
                 "--reference", "ck-0001")  # fmt: skip
        backup = work / "backup.kyso"
        run_kyso(env, "admin", "backup", "--out", str(backup))
        yield Installation(backend, env, data_dir, url, backup, split(env)["shares"], target, work)


@pytest.fixture
def target(installation: Installation, tmp_path: Path) -> dict[str, str]:
    """An empty data directory holding only the source's master key, and the empty database."""
    data_dir = tmp_path / "kyso-data"
    data_dir.mkdir(mode=0o700)
    shutil.copy2(installation.data_dir / "master.key", data_dir / "master.key")
    url = (
        installation.target_url
        if installation.backend == "postgresql"
        else f"sqlite:///{data_dir / 'kyso.db'}"
    )
    return kyso_env(data_dir, url)


def _nothing_written(env: dict[str, str]) -> None:
    data_dir = Path(env["KYSO_DATA_DIR"])
    assert sorted(p.name for p in data_dir.iterdir()) == ["master.key"]
    engine = create_engine(Settings(database_url=env["KYSO_DATABASE_URL"]).sqlalchemy_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def _refused(env: dict[str, str], backup: Path, code: str) -> str:
    result = run_kyso(env, "admin", "restore", "--from", str(backup), check=False)
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(f"error [{code}]: "), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    _nothing_written(env)
    return result.stderr


def _offset_in(backup: Path, member: str, at: float) -> int:
    with tarfile.open(backup) as tar:
        info = tar.getmember(member)
    return info.offset_data + int(info.size * at)


@pytest.mark.parametrize(
    ("where", "member", "at"),
    [
        ("database", "database", 0.5),
        ("a sealed key", "keys", 0.3),
        ("the manifest", "manifest.json", 0.5),
        ("the seal", "kyso-backup.seal", 0.9),
        ("a tar header", "header", 0.0),
    ],
    ids=["database", "key", "manifest", "seal", "tar-header"],
)
def test_a_backup_with_one_byte_changed_is_refused(
    installation: Installation,
    target: dict[str, str],
    tmp_path: Path,
    where: str,
    member: str,
    at: float,
) -> None:
    with tarfile.open(installation.backup) as tar:
        names = tar.getnames()
        header = tar.getmember(names[1]).offset  # the second member's header
    name = next((n for n in names if n.startswith(member)), None)
    position = (
        header + 100 if member == "header" else _offset_in(installation.backup, name or member, at)
    )
    changed = bytearray(installation.backup.read_bytes())
    changed[position] ^= 0x20
    copy = tmp_path / "changed.kyso"
    copy.write_bytes(bytes(changed))
    message = _refused(target, copy, "backup.damaged")
    assert "altered" in message or "damaged" in message, where


def test_a_backup_from_another_instances_master_key_is_refused(
    installation: Installation, target: dict[str, str], tmp_path: Path
) -> None:
    other = tmp_path / "other" / "kyso-data"
    with fresh_database(installation.backend, other) as url:
        other_env = kyso_env(other, url)
        run_kyso(other_env, "init")
        theirs = tmp_path / "theirs.kyso"
        run_kyso(other_env, "admin", "backup", "--out", str(theirs))
    message = _refused(target, theirs, "backup.other_master_key")
    ours = load_master_key(env_value=None, path=installation.data_dir / "master.key")
    assert f"the master key given is {ours.key_id}" in message
    assert "kyso admin master-key combine" in message


def test_shares_below_the_threshold_are_refused_and_nothing_written(
    installation: Installation, tmp_path: Path
) -> None:
    data_dir = tmp_path / "new" / "kyso-data"
    env = kyso_env(data_dir, f"sqlite:///{data_dir / 'kyso.db'}")
    result = combine(env, installation.shares[:2])
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error [certs.master_key_shares_below_threshold]: 2 distinct share(s) given, "
        "this master key needs 3"
    )
    assert not (tmp_path / "new").exists()
    assert not any(word in result.stderr for word in installation.shares[0].split()[4:8])


def test_combine_prints_or_writes_the_key_and_never_overwrites_one(
    installation: Installation, target: dict[str, str], tmp_path: Path
) -> None:
    printed = combine(target, installation.shares[1:5], "--print")
    assert printed.returncode == 0, printed.stderr
    source = load_master_key(env_value=None, path=installation.data_dir / "master.key")
    assert load_master_key(env_value=printed.stdout.strip(), path=tmp_path).key_id == source.key_id
    refused = combine(target, installation.shares[:3])  # master.key is there already
    assert refused.returncode == 1
    assert "exists already: nothing was written" in refused.stderr
    written = combine(target, installation.shares[2:], "--out", str(tmp_path / "mk"))
    assert json.loads(written.stdout)["master_key_id"] == source.key_id
    assert (tmp_path / "mk").stat().st_mode & 0o777 == 0o600


def test_a_target_that_is_not_empty_is_refused(
    installation: Installation, target: dict[str, str]
) -> None:
    stray = Path(target["KYSO_DATA_DIR"]) / "notes.txt"
    stray.write_text("đã có dữ liệu")
    result = run_kyso(target, "admin", "restore", "--from", str(installation.backup), check=False)
    assert result.stderr.startswith("error [restore.target_not_empty]: the data directory")
    assert stray.read_text() == "đã có dữ liệu"
    stray.unlink()
    # the database too: the source's own is not empty
    env = {**target, "KYSO_DATABASE_URL": installation.database_url}
    result = run_kyso(env, "admin", "restore", "--from", str(installation.backup), check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error [restore.target_not_empty]: ")
    assert "is not empty: a restore goes into an empty database" in result.stderr
    _nothing_written(target)


def test_a_backup_whose_audit_chain_is_broken_is_kept_but_not_restored(
    installation: Installation, target: dict[str, str], tmp_path: Path
) -> None:
    engine = create_engine(Settings(database_url=installation.database_url).sqlalchemy_url)
    try:
        with engine.begin() as connection:
            actor = connection.execute(text("SELECT actor FROM audit_log WHERE seq = 1")).scalar()
            connection.execute(text("UPDATE audit_log SET actor = 'nobody' WHERE seq = 1"))
        broken = tmp_path / "broken.kyso"
        made = run_kyso(installation.env, "admin", "backup", "--out", str(broken))
        assert "warning: the audit chain is broken (record 1 was altered)" in made.stderr
        assert json.loads(made.stdout)["warnings"]
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit_log SET actor = :a WHERE seq = 1"), {"a": actor})
        engine.dispose()
    message = _refused(target, broken, "backup.not_restorable")
    assert "audit chain does not verify (record 1 was altered)" in message


def test_a_backup_made_by_a_newer_kyso_is_refused(
    installation: Installation, target: dict[str, str], tmp_path: Path
) -> None:
    master_key = load_master_key(env_value=None, path=installation.data_dir / "master.key")

    def newer(manifest: dict[str, Any]) -> None:
        manifest["ledger"]["schema_revision"] = "9001"

    newer_backup = reseal(installation.backup, tmp_path / "newer.kyso", master_key, manifest=newer)
    message = _refused(target, newer_backup, "backup.newer_schema")
    assert "revision 9001, which this kyso does not know" in message


def test_a_database_that_differs_from_its_manifest_is_refused_and_undone(
    installation: Installation, target: dict[str, str], tmp_path: Path
) -> None:
    """Only a dishonest writer with the master key could make one; the check happens after the
    database is loaded, and a PostgreSQL database written into is emptied again."""
    master_key = load_master_key(env_value=None, path=installation.data_dir / "master.key")

    def one_more_charge(manifest: dict[str, Any]) -> None:
        manifest["ledger"]["rows"]["wallet_entry"] += 1

    lying = reseal(
        installation.backup, tmp_path / "lying.kyso", master_key, manifest=one_more_charge
    )
    message = _refused(target, lying, "backup.not_restorable")
    assert "table wallet_entry: 2 rows in the backup, 1 restored" in message


def _downgrade(database_url: str, revision: str) -> None:
    engine = create_engine(Settings(database_url=database_url).sqlalchemy_url)
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    engine.dispose()


def test_a_backup_of_an_older_schema_is_migrated_on_restore(
    installation: Installation, tmp_path: Path
) -> None:
    """Restored for good, into a database of its own."""
    data_dir = tmp_path / "kyso-data"
    data_dir.mkdir(mode=0o700)
    shutil.copy2(installation.data_dir / "master.key", data_dir / "master.key")
    with fresh_database(installation.backend, data_dir) as url:
        _restore_older(installation, kyso_env(data_dir, url), tmp_path)


def _restore_older(installation: Installation, target: dict[str, str], tmp_path: Path) -> None:
    master_key = load_master_key(env_value=None, path=installation.data_dir / "master.key")
    with backup_database(installation.backup, installation.backend, tmp_path) as url:
        _downgrade(url, "0008")  # what kyso 0008 would have backed up
        engine = create_engine(Settings(database_url=url).sqlalchemy_url)
        with engine.connect() as connection:
            older_facts = ledger_facts(connection).as_json()
        engine.dispose()
        if installation.backend == "sqlite":
            dumped = tmp_path / "older.db.gz"
            with open(url.removeprefix("sqlite:///"), "rb") as raw, gzip.open(dumped, "wb") as out:
                shutil.copyfileobj(raw, out)
        else:
            dumped = tmp_path / "older.pgdump"
            subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                            f"--file={dumped}", f"--dbname={url}"], check=True)  # fmt: skip

        def older_parts(parts: dict[str, Path]) -> None:
            part = next(name for name in parts if name.startswith("database/"))
            shutil.copyfile(dumped, parts[part])

        def older_manifest(manifest: dict[str, Any]) -> None:
            manifest["ledger"] = older_facts

        older = reseal(installation.backup, tmp_path / "older.kyso", master_key,
                       manifest=older_manifest, parts=older_parts)  # fmt: skip
    assert older_facts["schema_revision"] == "0008"
    report = json.loads(run_kyso(target, "admin", "restore", "--from", str(older)).stdout)
    assert report["schema"]["backup"] == "0008"
    assert report["schema"]["now"] != "0008"
    restored = create_engine(Settings(database_url=target["KYSO_DATABASE_URL"]).sqlalchemy_url)
    try:
        tables = inspect(restored).get_table_names()
        with restored.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        restored.dispose()
    assert "web_session" in tables  # made by migration 0009, after the backup's schema
    assert revision == report["schema"]["now"]
    assert json.loads(run_kyso(target, "admin", "audit", "verify").stdout)["intact"] is True
    assert json.loads(run_kyso(target, "admin", "check-ledger").stdout)["ok"] is True
    assert {"setting": "KYSO_VAT_PERCENT", "backup": 8, "now": 10} in report["settings_differ"]
