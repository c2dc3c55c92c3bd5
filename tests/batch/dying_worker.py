"""What a test's worker processes run instead of ``audit_batch``: a worker that dies for some conversations, as one
killed by the out-of-memory killer or a segfault in a native library does (no exception, no result: the process is
gone). Module-level, so a spawned worker imports it by name (``ProcessEngine.start(..., audit=...)``)."""

from __future__ import annotations

import os
from typing import Any

from auditor.batch.engines import Audited, audit_batch
from auditor.conversation import Conversation

DYING_ID = "dies-here"
"""The conversation whose audit kills its worker process."""
EXIT_CODE = 137


def audit_or_die(auditor: Any, conversations: list[Conversation]) -> list[Audited]:
    """Kill this worker (exit code 137, no clean-up) when the batch holds ``DYING_ID``; else audit as usual."""
    if any(conversation.id == DYING_ID for conversation in conversations):
        os._exit(EXIT_CODE)
    return audit_batch(auditor, conversations)


def always_die(auditor: Any, conversations: list[Conversation]) -> list[Audited]:
    """Kill this worker whatever it is given (models that crash on first use, no memory for them)."""
    os._exit(EXIT_CODE)
