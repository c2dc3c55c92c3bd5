"""API keys: sent as ``X-API-Key`` (or ``Authorization: Bearer``), compared by SHA-256 hash in constant time."""

from __future__ import annotations

import hmac
import math

from fastapi import Request
from starlette.requests import HTTPConnection

from api.errors import ApiError
from api.settings import hash_key

LOCAL_OWNER = "local"


def presented_key(connection: HTTPConnection) -> str | None:
    key = connection.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def authenticate(connection: HTTPConnection) -> str:
    """The caller's identity (a short prefix of its key hash); raise a 401 ApiError when there is no valid key."""
    state = connection.app.state
    if state.settings.auth_disabled:
        return LOCAL_OWNER
    key = presented_key(connection)
    if key is None:
        raise ApiError(401, "missing_api_key", "send your API key in the X-API-Key header")
    digest = hash_key(key)
    if not any(hmac.compare_digest(digest, known) for known in state.key_hashes):
        raise ApiError(401, "invalid_api_key", "the API key is not valid")
    return "key:" + digest[:12]


async def require_key(request: Request) -> str:
    """FastAPI dependency for every protected route: a valid key, within its request rate."""
    owner = authenticate(request)
    wait = request.app.state.rate_limiter.allow(owner)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {request.app.state.settings.rate_limit_per_second:g} requests a second for this key; "
            f"retry in {wait:.2f} s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return owner
