"""The API with a fresh SQLite review store holding the English and Chinese card-check audits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auditor.api.app import create_app
from auditor.api.settings import Settings, hash_key
from auditor.store.audits import save_results
from auditor.store.database import open_store
from tests.review.factories import CARD_SOP, audited

KEY = "coach-key-1"
HEADERS = {"X-API-Key": KEY}


def review_settings(tmp_path: Path, **overrides: object) -> Settings:
    sops = tmp_path / "sops"
    sops.mkdir(exist_ok=True)
    (sops / "card-check.yaml").write_text(CARD_SOP, encoding="utf-8")
    values: dict[str, object] = {
        "embedder": "hashing",
        "sop_dirs": [sops],
        "api_keys": [f"sha256:{hash_key(KEY)}"],
        "anomalies": False,
        "database_url": f"sqlite:///{tmp_path / 'audits.db'}",
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


def seed(database_url: str) -> dict[str, int]:
    """Store the three audits; conversation id -> audit id."""
    results, conversations = audited()
    store = open_store(database_url)
    with store.session() as session:
        saved = save_results(session, results, conversations)
    store.close()
    return {item.conversation_id: item.audit_id for item in saved}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return review_settings(tmp_path)


@pytest.fixture
def audit_ids(settings: Settings) -> dict[str, int]:
    return seed(settings.database_url)


@pytest.fixture
def client(settings: Settings, audit_ids: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def login(client: TestClient, name: str = "Mei", key: str = KEY) -> None:
    response = client.post("/review/login", data={"reviewer": name, "key": key, "next": "/review"})
    assert response.status_code in (200, 303), response.text
