"""Log records with personal data redacted: messages and tracebacks may quote the input that caused them."""

from __future__ import annotations

import logging

from auditor.privacy.policy import RedactionPolicy


class RedactingFilter(logging.Filter):
    """Redacts a record's message and its formatted traceback in place (``exc_text``), then lets it through."""

    def __init__(self, policy: RedactionPolicy):
        super().__init__()
        self.policy = policy

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.policy.enabled:
            return True
        message = record.getMessage()
        redacted = self.policy.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.policy.redact(logging.Formatter().formatException(record.exc_info))
        return True


def redact_logs(logger_names: tuple[str, ...], policy: RedactionPolicy) -> None:
    """Install (or replace) the redacting filter on these loggers; records logged on them are redacted."""
    for name in logger_names:
        logger = logging.getLogger(name)
        for existing in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
            logger.removeFilter(existing)
        logger.addFilter(RedactingFilter(policy))
