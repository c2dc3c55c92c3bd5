"""API keys: sent as ``X-API-Key`` (or ``Authorization: Bearer``), compared by SHA-256 hash in constant time.

Plain functions of what they check; ``dependencies.require_key`` is the dependency routes use."""

from __future__ import annotations

import hmac
import math
from collections.abc import Collection

from starlette.requests import HTTPConnection

from auditor.api.errors import ApiError
from auditor.api.limits import FailureThrottle, RateLimiter, retry_after
from auditor.api.settings import Settings, hash_key

LOCAL_OWNER = "local"


def presented_key(connection: HTTPConnection) -> str | None:
    key = connection.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def client_address(connection: HTTPConnection) -> str:
    """The peer's address (``auditor serve`` trusts no proxy header): what failed sign-ins are counted against."""
    return connection.client.host if connection.client else "unknown"


def throttled(seconds: float) -> ApiError:
    return ApiError(
        429,
        "too_many_failures",
        f"too many failed sign-ins from this address; retry in {math.ceil(seconds)} s",
        headers=retry_after(seconds),
    )


def authenticate(
    connection: HTTPConnection, settings: Settings, key_hashes: Collection[str], throttle: FailureThrottle
) -> str:
    """The caller's identity (a short prefix of its key hash); raise a 401 ApiError when there is no valid key.

    Wrong keys are counted per client address: past the free ones the address waits, longer after each failure,
    and gets 429 ``too_many_failures`` with ``Retry-After`` (before its key is even looked at) until then."""
    if settings.auth_disabled:
        return LOCAL_OWNER
    key = presented_key(connection)
    if key is None:
        raise ApiError(401, "missing_api_key", "send your API key in the X-API-Key header")
    address = client_address(connection)
    wait = throttle.wait(address)
    if wait is not None:
        raise throttled(wait)
    digest = hash_key(key)
    if not any(hmac.compare_digest(digest, known) for known in key_hashes):
        throttle.failed(address)
        raise ApiError(401, "invalid_api_key", "the API key is not valid")
    throttle.succeeded(address)
    return "key:" + digest[:12]


def limit_rate(limiter: RateLimiter, settings: Settings, owner: str) -> None:
    """Raise 429 ``rate_limited`` (with ``Retry-After``) when ``owner`` is over its request rate."""
    wait = limiter.allow(owner)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {settings.rate_limit_per_second:g} requests a second for this key; retry in {wait:.2f} s",
            headers=retry_after(wait),
        )
