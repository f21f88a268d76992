"""How ``kyso serve`` logs: uvicorn's own configuration, extended to kyso and its libraries.

Nothing personal is logged at any level: the database engine hides bound parameters
(:func:`api.database.make_engine`) and SQLAlchemy is never let down to DEBUG, where it would
print result rows (personal data, sealed keys).
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from uvicorn.config import LOGGING_CONFIG

__all__ = ["LOG_LEVELS", "LogLevel", "log_config"]

LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")


def log_config(level: LogLevel) -> dict[str, Any]:
    """uvicorn's logging configuration with every other logger (kyso's, the libraries') sent
    to the same stream at ``level``; SQL statements (parameters hidden) only at ``debug``."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    name = level.upper()
    config["root"] = {"handlers": ["default"], "level": name}
    config["loggers"]["sqlalchemy.engine"] = {"level": "INFO" if level == "debug" else "WARNING"}
    return config
