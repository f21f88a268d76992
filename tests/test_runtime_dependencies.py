"""What the service imports is installed by ``pip install .``: every third-party module the
service's packages import comes from a runtime dependency in ``pyproject.toml`` or from one of
theirs, not from the ``dev`` extra that only the tests install (``scripts/serve`` on a fresh
machine once failed at its first import: the portal webhook's ``httpx`` was a dev dependency)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "certs", "identity", "signing", "billing", "kernel")
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[([^\]]*)\])?")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(text: str) -> tuple[str, set[str]] | None:
    """The distribution and extras of a requirement whose marker holds here."""
    requirement, _, marker = text.partition(";")
    marker = marker.strip()
    if marker:
        if "extra ==" in marker:
            return None  # counted only when its extra is asked for (below)
        if marker.replace(" ", "") == "sys_platform!='win32'" and sys.platform == "win32":
            return None
    found = _NAME.match(requirement.strip())
    assert found, text
    extras = {e.strip() for e in (found.group(3) or "").split(",") if e.strip()}
    return _normal(found.group(1)), extras


def _closure(roots: list[str]) -> set[str]:
    """The runtime requirements and, installed here, all of theirs (with the extras asked)."""
    seen: set[str] = set()
    queue = [r for r in map(_requirement, roots) if r is not None]
    while queue:
        name, extras = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement, _, marker = text.partition(";")
            wanted = any(f'extra == "{extra}"' in marker for extra in extras)
            found = _requirement(requirement if wanted else text)
            if found is not None:
                queue.append(found)
    return seen


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level modules imported by the service's packages (absolute imports), by file."""
    ours = set(PACKAGES) | {"tests", "migrations"}
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in ours and top not in sys.stdlib_module_names:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_module_the_service_imports_is_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _closure(project["dependencies"])
    distributions = metadata.packages_distributions()
    missing = {}
    for module, files in sorted(_third_party_imports().items()):
        providers = {_normal(d) for d in distributions.get(module, [])}
        assert providers, f"{module} (imported by {sorted(files)}) is not installed here"
        if not providers & runtime:
            missing[module] = sorted(files)
    assert not missing, f"imported but installed only with the dev extra: {missing}"
