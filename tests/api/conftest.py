"""A service with the fast hashing embedder and a small keyword SOP, so routes are tested without real models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auditor.api.app import create_app
from auditor.api.settings import Settings, hash_key

KEY = "test-key-1"
OTHER_KEY = "test-key-2"
HEADERS = {"X-API-Key": KEY}

CHECKOUT_SOP = """
id: card-check
name: Card check
languages: [en]
steps:
  - id: greet
    name: Greet
    keywords: ["welcome to acme"]
    within_first_turns: 2
  - id: verify
    name: Verify identity
    keywords: ["date of birth"]
    critical: true
    before: [discuss]
  - id: discuss
    name: Discuss the card
    keywords: ["your card balance"]
  - id: close
    name: Close
    keywords: ["goodbye from acme"]
"""

CALL = [
    {"speaker": "agent", "text": "Hello, welcome to Acme bank.", "start": 0.0, "end": 2.0},
    {"speaker": "customer", "text": "Hi, I want to check my card.", "start": 2.5, "end": 4.0},
    {"speaker": "agent", "text": "Sure. What is your date of birth?", "start": 4.5, "end": 6.0},
    {"speaker": "customer", "text": "The first of May 1980.", "start": 6.5, "end": 8.0},
    {"speaker": "agent", "text": "Thanks. Your card balance is 40 pounds.", "start": 8.5, "end": 10.0},
    {"speaker": "system", "text": "hold music", "start": 10.0, "end": 11.0},
    {"speaker": "agent", "text": "Anything else? Goodbye from Acme.", "start": 11.5, "end": 13.0},
]


def transcript(turns: list[dict] | None = None, **fields: object) -> dict:
    return {"id": "call-1", "agent_id": "a-7", "lang": "en", "turns": turns if turns is not None else CALL} | fields


@pytest.fixture(scope="session")
def sop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sops")
    (folder / "card-check.yaml").write_text(CHECKOUT_SOP, encoding="utf-8")
    return folder


def make_settings(sop_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "embedder": "hashing",
        "sop_dirs": [sop_dir],
        "api_keys": [f"sha256:{hash_key(KEY)}", f"sha256:{hash_key(OTHER_KEY)}"],
        "anomalies": False,
        "database_url": f"sqlite:///{sop_dir / 'audits.db'}",
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(sop_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sop_dir)), raise_server_exceptions=False) as test_client:
        yield test_client
