"""The review pages' sign-in cookie and CSRF tokens, without a server: signed, expiring, tied to an accepted key."""

from __future__ import annotations

import base64
import json

from auditor.api.review_session import Coach, ReviewSigner
from auditor.api.settings import hash_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


KEY_HASH = hash_key("coach-key")


def signer(clock: Clock, keys: set[str] | None = None, *, auth_disabled: bool = False, secret: bytes = b"s" * 32):
    return ReviewSigner(secret, 8, auth_disabled, {KEY_HASH} if keys is None else keys, clock)


def test_a_cookie_names_its_coach_until_it_expires() -> None:
    clock = Clock()
    cookies = signer(clock)
    cookie = cookies.cookie("Mei 梅", KEY_HASH)
    coach = cookies.coach(cookie)
    assert coach == Coach("Mei 梅", cookie, cookies.csrf(cookie))
    clock.now += 8 * 3600 - 1
    assert cookies.coach(cookie) is not None
    clock.now += 2
    assert cookies.coach(cookie) is None


def test_a_tampered_or_foreign_cookie_is_refused() -> None:
    clock = Clock()
    cookies = signer(clock)
    cookie = cookies.cookie("Mei", KEY_HASH)
    body, _, signature = cookie.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body))
    forged = base64.urlsafe_b64encode(json.dumps(payload | {"name": "Boss"}).encode()).decode()
    assert cookies.coach(f"{forged}.{signature}") is None
    assert cookies.coach(f"{body}.{'0' * len(signature)}") is None
    assert cookies.coach("") is None and cookies.coach("not-a-cookie") is None
    assert signer(clock, secret=b"o" * 32).coach(cookie) is None  # another secret (a restart without one set)


def test_a_cookie_dies_with_its_key_unless_auth_is_off() -> None:
    clock = Clock()
    cookie = signer(clock).cookie("Mei", KEY_HASH)
    assert signer(clock, keys={hash_key("another")}).coach(cookie) is None
    open_cookie = signer(clock, auth_disabled=True).cookie("Mei", None)
    assert signer(clock, keys=set(), auth_disabled=True).coach(open_cookie) is not None
    assert signer(clock, keys=set()).coach(open_cookie) is None  # auth turned on: the keyless cookie is refused


def test_the_key_is_only_fingerprinted_in_the_cookie() -> None:
    cookie = signer(Clock()).cookie("Mei", KEY_HASH)
    payload = json.loads(base64.urlsafe_b64decode(cookie.partition(".")[0]))
    assert KEY_HASH not in cookie and len(payload["key"]) == 24


def test_csrf_tokens_are_per_cookie() -> None:
    clock = Clock()
    cookies = signer(clock)
    first = cookies.coach(cookies.cookie("Mei", KEY_HASH))
    clock.now += 1
    second = cookies.coach(cookies.cookie("Mei", KEY_HASH))
    assert first is not None and second is not None and first.csrf != second.csrf
    assert cookies.csrf_ok(first, first.csrf)
    assert not cookies.csrf_ok(first, second.csrf) and not cookies.csrf_ok(first, "")
