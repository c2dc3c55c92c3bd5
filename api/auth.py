"""API keys: sent as ``X-API-Key`` (or ``Authorization: Bearer``), compared by SHA-256 hash in constant time."""

from __future__ import annotations

import hmac

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
    """FastAPI dependency for every protected route."""
    return authenticate(request)
