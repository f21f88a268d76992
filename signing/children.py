"""Work on untrusted PDFs done in a child process of its own, bounded in memory and time
(pdfium is not thread-safe; qpdf and pdfium parse whatever was uploaded: a crash or a runaway
costs the child, never the service)."""

from __future__ import annotations

import resource
import subprocess
import sys

__all__ = ["bound_this_process", "run_child"]

MEMORY_BYTES = 1024 * 1024 * 1024


def run_child(
    module: str, *args: str, seconds: int, stdin: str | None = None
) -> subprocess.CompletedProcess[str] | None:
    """``python -m module args…``; ``None`` when it ran out of time."""
    try:
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=seconds + 5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None


def bound_this_process(seconds: int) -> None:
    """In the child: at most ``MEMORY_BYTES`` of memory and ``seconds`` of processor."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds))
