"""Log records with personal data redacted: messages and tracebacks may quote the input that caused them.

Two layers, so that every line the process writes goes through redaction:

- ``redact_logs`` puts a ``RedactingFilter`` on named loggers (the ``auditor`` loggers, uvicorn's error and access
  loggers...): records created on them are redacted whatever handler later writes them;
- ``logging_config`` is the ``logging.config.dictConfig`` that ``auditor serve`` hands uvicorn: every handler
  (uvicorn's two and one on the root logger, which every other library's records reach) carries the filter, so a
  record from any logger is redacted before it is formatted.

Access-log lines never keep a query string (a key sent as ``?api_key=`` by mistake, a phone number in a filter):
the path is logged without it.
"""

from __future__ import annotations

import logging
from typing import Any

from auditor.privacy.policy import RedactionPolicy

ACCESS_LOGGER = "uvicorn.access"
SERVER_LOGGERS = ("auditor", "auditor.api", "uvicorn", "uvicorn.error", ACCESS_LOGGER, "asyncio")
"""Loggers the HTTP service writes through (records are filtered on the logger they are created on)."""


def without_query(target: str) -> str:
    """``/v1/audit?sop=x&api_key=...`` -> ``/v1/audit``: the path of a request target, its query string dropped."""
    return target.partition("?")[0]


class RedactingFilter(logging.Filter):
    """Redacts a record's message, traceback and stack in place, drops query strings from access-log records, then
    lets it through. Idempotent: a record that passes several filters (logger and handler) is redacted once more,
    which changes nothing."""

    def __init__(self, policy: RedactionPolicy | None = None):
        super().__init__()
        self.policy = policy if policy is not None else RedactionPolicy()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple) and len(record.args) == 5:
            # uvicorn's access record: (client, method, path with query, HTTP version, status); its formatter
            # unpacks the tuple, so the parts are redacted one by one and the tuple kept
            client, method, target, version, status = record.args
            path = without_query(str(target))
            record.args = (client, method, self.policy.redact(path) if self.policy.enabled else path, version, status)
        elif self.policy.enabled:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a malformed format string: keep the raw parts, redacted
                message = f"{record.msg} {record.args}"
            redacted = self.policy.redact(message)
            if redacted != message or record.args:
                record.msg, record.args = redacted, ()
        if not self.policy.enabled:
            return True
        if record.exc_info or record.exc_text:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
            record.exc_text = self.policy.redact(text)
        if record.stack_info:
            record.stack_info = self.policy.redact(record.stack_info)
        return True


def redact_logs(logger_names: tuple[str, ...], policy: RedactionPolicy) -> None:
    """Install (or replace) the redacting filter on these loggers; records logged on them are redacted."""
    for name in logger_names:
        logger = logging.getLogger(name)
        for existing in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
            logger.removeFilter(existing)
        logger.addFilter(RedactingFilter(policy))


def logging_config(policy: RedactionPolicy, level: str = "info") -> dict[str, Any]:
    """uvicorn's logging set-up with a redacting filter on every handler and on the root logger's handler."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = dict(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": RedactingFilter, "policy": policy}}
    handlers = LOGGING_CONFIG["handlers"].items()
    config["handlers"] = {name: dict(handler, filters=["redact"]) for name, handler in handlers}
    config["handlers"]["root"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    config["loggers"] = {name: dict(logger) for name, logger in LOGGING_CONFIG["loggers"].items()}
    config["root"] = {"handlers": ["root"], "level": level.upper() if level.upper() != "TRACE" else "DEBUG"}
    return config
