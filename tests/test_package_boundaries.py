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


ADAPTERS = sorted(
    [*(ROOT / "api" / "routes").glob("*.py"), *(ROOT / "api" / "web").glob("*.py"),
     ROOT / "api" / "cli.py", ROOT / "api" / "verification_cli.py"]
)  # fmt: skip
"""The HTTP routes (REST, CSC, OIDC, PKI), the web pages and the command line."""


def _modules_imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


@pytest.mark.parametrize("path", ADAPTERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_open_no_transaction_and_pages_import_no_route(path: Path) -> None:
    """Every write is a use case's: no adapter opens a unit of work or a session of its own
    (they read through the services' read-only session); no page calls a route handler."""
    imported = _modules_imported(path)
    tree = ast.parse(path.read_text())
    assert "api.database.unit_of_work" not in imported, f"{path.name} opens a unit of work"
    assert not any(
        isinstance(node, ast.Attribute) and node.attr == "unit_of_work" for node in ast.walk(tree)
    ), f"{path.name} opens a unit of work"
    assert "sqlmodel.Session" not in imported or not any(
        isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Session"
        for node in ast.walk(tree)
    ), f"{path.name} opens a session of its own"
    if path.parent.name == "web":
        assert not any(m.startswith("api.routes") for m in imported), f"{path.name} calls a route"


def test_use_cases_know_nothing_of_http_or_their_adapters() -> None:
    for path in (ROOT / "api" / "usecases").glob("*.py"):
        imported = {m.split(".")[0] for m in _modules_imported(path)} | _modules_imported(path)
        for forbidden in ("fastapi", "starlette", "api.routes", "api.web", "api.errors"):
            assert forbidden not in imported, f"{path.name} imports {forbidden}"
