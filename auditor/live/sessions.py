"""Live sessions by id: bounded in number (in all and per API key) and expired when idle."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from auditor.live.session import LiveSession


class SessionNotFoundError(LookupError):
    """No such session for this caller: never opened, closed, expired, or opened with another key."""


class SessionLimitError(RuntimeError):
    """Too many open sessions, in all or for one key."""


@dataclass
class _Entry:
    session: LiveSession
    owner: str
    sop_id: str
    last_used: float


class SessionStore:
    """Thread-safe map of session id -> live session; an expired session is gone as if closed."""

    def __init__(
        self,
        *,
        max_sessions: int = 1000,
        max_per_owner: int = 200,
        idle_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_sessions = max_sessions
        self.max_per_owner = max_per_owner
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def open(self, session: LiveSession, owner: str, sop_id: str) -> str:
        """Store a new session and return its id; raise SessionLimitError when a bound would be passed."""
        self.expire()
        with self._lock:
            if len(self._entries) >= self.max_sessions:
                raise SessionLimitError(f"the server holds its maximum of {self.max_sessions} live sessions")
            mine = sum(1 for entry in self._entries.values() if entry.owner == owner)
            if mine >= self.max_per_owner:
                raise SessionLimitError(f"this API key already holds its maximum of {self.max_per_owner} live sessions")
            session_id = "s-" + secrets.token_urlsafe(12)
            self._entries[session_id] = _Entry(session, owner, sop_id, self.clock())
            return session_id

    def get(self, session_id: str, owner: str) -> LiveSession:
        """The session, marked as used now; SessionNotFoundError if unknown, expired or someone else's."""
        with self._lock:
            entry = self._live_entry(session_id, owner)
            entry.last_used = self.clock()
            return entry.session

    def sop_id(self, session_id: str, owner: str) -> str:
        with self._lock:
            return self._live_entry(session_id, owner).sop_id

    def remove(self, session_id: str, owner: str) -> LiveSession:
        with self._lock:
            entry = self._live_entry(session_id, owner)
            del self._entries[session_id]
            return entry.session

    def expire(self) -> int:
        """Drop every session idle for longer than ``idle_seconds``; return how many were dropped."""
        now = self.clock()
        with self._lock:
            stale = [key for key, entry in self._entries.items() if now - entry.last_used > self.idle_seconds]
            for key in stale:
                del self._entries[key]
            return len(stale)

    def expires_in(self, session_id: str, owner: str) -> float:
        with self._lock:
            entry = self._live_entry(session_id, owner)
            return max(0.0, self.idle_seconds - (self.clock() - entry.last_used))

    def _live_entry(self, session_id: str, owner: str) -> _Entry:
        entry = self._entries.get(session_id)
        if entry is not None and self.clock() - entry.last_used > self.idle_seconds:
            del self._entries[session_id]
            entry = None
        if entry is None or entry.owner != owner:
            raise SessionNotFoundError(f"no live session {session_id!r} (closed, expired or never opened)")
        return entry
