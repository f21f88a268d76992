"""Figures the reliability tests leave for people (and the closing note) to read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ARTIFACTS = Path(os.environ.get("KYSO_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))


def record(name: str, figures: dict[str, Any]) -> Path:
    """Write ``artifacts/reliability/<name>.json``."""
    folder = ARTIFACTS / "reliability"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, default=str))
    return path
