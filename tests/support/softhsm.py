"""A SoftHSM2 installation per test session: its own configuration and token directory (never
the machine's), and tokens initialised in it by ``softhsm2-util``, as an operator would."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import require_tool

MODULE_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
)
SO_PIN = "87654321"
USER_PIN = "246813"


def softhsm_module() -> Path:
    """Debian's SoftHSM2 module; failing loudly (scripts/setup-system installs softhsm2)."""
    for candidate in MODULE_CANDIDATES:
        if candidate.exists():
            return candidate
    raise AssertionError("libsofthsm2.so is not installed: scripts/setup-system installs softhsm2")


@dataclass(frozen=True)
class SoftHsm:
    """One SoftHSM2 configuration (``SOFTHSM2_CONF``) with its token directory."""

    conf: Path
    tokens: Path
    module: Path

    @classmethod
    def create(cls, directory: Path) -> SoftHsm:
        tokens = directory / "tokens"
        tokens.mkdir(parents=True, exist_ok=True)
        conf = directory / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = false\n"
        )
        return cls(conf=conf, tokens=tokens, module=softhsm_module())

    @property
    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}

    def init_token(self, label: str | None = None) -> Token:
        """A new token with its SO and user PINs set; its label is unique in this session."""
        label = label or f"kyso-{uuid.uuid4().hex[:8]}"
        before = set(self.tokens.iterdir())
        subprocess.run(
            [require_tool("softhsm2-util"), "--init-token", "--free", "--label", label,
             "--so-pin", SO_PIN, "--pin", USER_PIN],
            env={**os.environ, **self.env}, check=True, capture_output=True,
        )  # fmt: skip
        (directory,) = set(self.tokens.iterdir()) - before
        return Token(hsm=self, label=label, directory=directory)


@dataclass(frozen=True)
class Token:
    hsm: SoftHsm
    label: str
    directory: Path
    """Where SoftHSM2 keeps the token's objects: moving it away removes the token."""

    def kyso_env(self) -> dict[str, str]:
        """The settings of a kyso process that keeps its keys on this token."""
        return {
            **self.hsm.env,
            "KYSO_KEYSTORE": "pkcs11",
            "KYSO_PKCS11_MODULE": str(self.hsm.module),
            "KYSO_PKCS11_TOKEN_LABEL": self.label,
            "KYSO_PKCS11_PIN": USER_PIN,
        }

    def remove(self) -> Path:
        """Take the token away (as an unplugged or unreachable HSM); :meth:`restore` it."""
        away = self.directory.with_name(self.directory.name + ".away")
        shutil.move(self.directory, away)
        return away

    def restore(self) -> None:
        shutil.move(self.directory.with_name(self.directory.name + ".away"), self.directory)

    def pkcs11_tool(self, *args: str) -> str:
        """OpenSC's pkcs11-tool on this token, logged in; its output."""
        result = subprocess.run(
            [require_tool("pkcs11-tool"), "--module", str(self.hsm.module), "--token-label",
             self.label, "--login", "--pin", USER_PIN, *args],
            env={**os.environ, **self.hsm.env}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout
