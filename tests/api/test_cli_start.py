"""The command line starts without pyHanko; the server builds everything before it serves.

pyHanko and the signing modules took more than half of ``import api.cli`` (0.65 of 1.2 s here),
paid by every ``kyso admin …`` command though most never sign or verify. ``Services`` builds its
signing and verification collaborators on first use; ``create_app`` asks for them at once, so
that no request pays for them or races to build them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from api.settings import Settings

pytestmark = pytest.mark.one_database


def test_the_command_line_imports_no_pyhanko() -> None:
    probe = ("import json, sys, api.cli\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    loaded = set(json.loads(done.stdout))
    assert {"click", "sqlalchemy"} <= loaded  # the probe did load the command line
    assert not loaded & {"pyhanko", "pyhanko_certvalidator"}


def test_the_server_builds_signing_and_verification_before_its_first_request(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "kyso-data", env="test",
                        database_url=f"sqlite:///{tmp_path / 'kyso.db'}")  # fmt: skip
    services = create_app(settings).state.services
    try:
        built = vars(services)
        assert {"signing", "verification"} <= built.keys()
        assert services.signing is built["signing"]  # built once, not per use
    finally:
        services.close()
        services.runtime.engine.dispose()
