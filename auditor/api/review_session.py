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

from auditor.review.people import People, Person, Role

COOKIE = "auditor_review"
"""Name of the sign-in cookie (HttpOnly, SameSite=Lax, path /review)."""


@dataclass(frozen=True)
class Coach:
    """A signed-in coach: the name, the cookie that says so and the CSRF token its forms must carry."""

    name: str
    cookie: str
    csrf: str
    role: Role = "coach"
    """coach, agent or qa_lead (from the people file; everyone is a coach without one)."""
    agent_id: str | None = None
    """An agent's own agent id: the only conversations they see."""

    @property
    def person(self) -> Person:
        return Person(self.name, self.role, self.agent_id)


AGENT_PAGES = ("/review/my", "/review/logout")
"""The only review pages an agent may open; every other page sends them to /review/my."""


def agent_may_open(path: str) -> bool:
    return any(path == page or path.startswith(page + "/") for page in AGENT_PAGES)


class NotForAgents(Exception):
    """An agent asked for a coach's page (raised by ``dependencies.current_coach``; answered by a redirect)."""


@dataclass(frozen=True)
class ReviewSigner:
    """Issues and reads sign-in cookies; ``key_hashes`` are the accepted keys, none needed when ``auth_disabled``."""

    secret: bytes
    session_hours: float
    auth_disabled: bool
    key_hashes: Collection[str]
    clock: Callable[[], float] = field(default=time.time)
    people: People | None = None
    """The team (``AUDITOR_PEOPLE_FILE``): only they sign in, each in their role; None: everyone is a coach."""

    def person(self, name: str) -> Person | None:
        """Who signs in under this name: from the people file, or a coach of that name without one."""
        if self.people is None:
            return Person(name)
        return self.people.find(name)

    def may_sign_in(self, person: Person, key_hash: str | None) -> bool:
        """A person with their own key signs in with it; anyone else with one of the service's keys."""
        if self.auth_disabled:
            return True
        if key_hash is None:
            return False
        if person.key_hash is not None:
            return hmac.compare_digest(key_hash, person.key_hash)
        return any(hmac.compare_digest(key_hash, known) for known in self.key_hashes)

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
        person = self.person(name)
        if person is None:  # no longer on the team
            return None
        if not self.auth_disabled:
            own = [person.key_hash] if person.key_hash is not None else self.key_hashes
            accepted = {self.key_print(known) for known in own}
            if not any(hmac.compare_digest(key, known) for known in accepted):
                return None
        return Coach(person.name, cookie, self.csrf(cookie), person.role, person.agent_id)

    def csrf_ok(self, coach: Coach, token: str) -> bool:
        """Whether a form's token is the coach's (compared in constant time)."""
        return hmac.compare_digest(token, coach.csrf)
