"""The bounded child processes that read untrusted PDFs start light: each is run as
``python -m signing.<module>`` for every upload (page pictures) or verification (page
comparison, repair, appearances), so what its import pulls in is paid per document. Run from
``api.web`` the page-picture child imported the whole web app first: about 4 s a draft, and a
portal's signing request of two PDFs took 9 s on a slow day."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILDREN = ("signing.page_pictures", "signing.page_compare", "signing.repair",
            "signing.appearances")  # fmt: skip
HEAVY = ("api", "fastapi", "starlette", "sqlalchemy", "sqlmodel", "pyhanko", "identity",
         "billing", "certs", "pydantic")  # fmt: skip

pytestmark = pytest.mark.one_database


@pytest.mark.parametrize("module", CHILDREN)
def test_a_child_process_module_imports_nothing_of_the_app(module: str) -> None:
    probe = (f"import json, sys, {module}\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    loaded = set(json.loads(done.stdout))
    assert module.split(".")[0] in loaded  # the probe did import it
    assert not loaded & set(HEAVY), f"{module} imports {sorted(loaded & set(HEAVY))}"
