"""The review pages' sign-in: a signed cookie naming the coach, and the CSRF token of every form that changes something.

The cookie holds the coach's name, a fingerprint of the API key they signed in with and an expiry, signed with
HMAC-SHA256; it is refused once that key is no longer accepted. The CSRF token is derived from the cookie, so it
changes with every sign-in. Nothing here reads the request or the application: ``dependencies.get_review_signer``
builds a ``ReviewSigner`` from the settings, the accepted keys and the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

COOKIE = "auditor_review"
"""Name of the sign-in cookie (HttpOnly, SameSite=Lax, path /review)."""


@dataclass(frozen=True)
class Coach:
    """A signed-in coach: the name, the cookie that says so and the CSRF token its forms must carry."""

    name: str
    cookie: str
    csrf: str


@dataclass(frozen=True)
class ReviewSigner:
    """Issues and reads sign-in cookies; ``key_hashes`` are the accepted keys, none needed when ``auth_disabled``."""

    secret: bytes
    session_hours: float
    auth_disabled: bool
    key_hashes: Collection[str]
    clock: Callable[[], float] = field(default=time.time)

    def sign(self, payload: bytes) -> str:
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()

    def key_print(self, key_hash: str) -> str:
        """A fingerprint of an API key's hash: the cookie names the key without holding anything that opens the API."""
        return self.sign(b"key|" + key_hash.encode("ascii"))[:24]

    def csrf(self, cookie: str) -> str:
        return self.sign(b"csrf|" + cookie.encode("ascii"))[:32]

    def cookie(self, name: str, key_hash: str | None) -> str:
        """The cookie of a coach who signed in with the key of hash ``key_hash`` (None when auth is off)."""
        payload = {
            "name": name,
            "key": self.key_print(key_hash) if key_hash else "",
            "exp": self.clock() + self.session_hours * 3600,
        }
        body = base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode("utf-8")).decode("ascii")
        return f"{body}.{self.sign(body.encode('ascii'))}"

    def coach(self, cookie: str) -> Coach | None:
        """The coach a cookie names, or None: no cookie, a bad signature, expired, or the key no longer accepted."""
        body, _, signature = cookie.partition(".")
        if not body or not hmac.compare_digest(signature, self.sign(body.encode("ascii", "replace"))):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body.encode("ascii")))
            name, key, expires = str(payload["name"]), str(payload["key"]), float(payload["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < self.clock():
            return None
        if not self.auth_disabled:
            accepted = {self.key_print(known) for known in self.key_hashes}
            if not any(hmac.compare_digest(key, known) for known in accepted):
                return None
        return Coach(name, cookie, self.csrf(cookie))

    def csrf_ok(self, coach: Coach, token: str) -> bool:
        """Whether a form's token is the coach's (compared in constant time)."""
        return hmac.compare_digest(token, coach.csrf)
