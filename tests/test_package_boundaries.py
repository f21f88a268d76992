"""DESIGN.md's dependency rule, checked on the source: api -> domain packages -> certs, and
every package may use the shared kernel, which uses none of ours."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ("certs", "identity", "signing", "billing")
HTTP = ("api", "fastapi", "starlette", "httpx", "uvicorn", "aiohttp", "requests")
ALLOWED = {
    "certs": set(),
    "identity": {"certs"},
    "signing": {"certs"},
    "billing": set(),
}


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_packages_know_nothing_of_http_and_only_their_allowed_neighbours(
    package: str,
) -> None:
    imported = _imports(package)
    for forbidden in HTTP:
        assert forbidden not in imported, f"{package} imports {forbidden}: {imported[forbidden]}"
    for other in DOMAIN:
        if other != package and other not in ALLOWED[package]:
            assert other not in imported, f"{package} imports {other}: {imported[other]}"


def test_the_shared_kernel_imports_none_of_our_packages() -> None:
    imported = _imports("kernel")
    for ours in (*DOMAIN, "api", "migrations", "tests"):
        assert ours not in imported, f"kernel imports {ours}: {imported[ours]}"
