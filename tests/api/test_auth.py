"""API keys are required by default, stored hashed, and refused with one JSON error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from auditor.api.app import create_app
from auditor.api.settings import Settings, hash_key
from auditor.cli import app as cli
from tests.api.conftest import HEADERS, KEY, make_settings


def test_a_request_without_a_key_is_refused_with_the_json_error_shape(client):
    response = client.get("/v1/sops")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "ApiKey"
    assert response.json()["error"]["code"] == "missing_api_key"
    assert "X-API-Key" in response.json()["error"]["message"]


def test_a_wrong_key_is_refused_and_a_right_one_accepted_as_header_or_bearer(client):
    assert client.get("/v1/sops", headers={"X-API-Key": KEY + "x"}).json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/sops", headers=HEADERS).status_code == 200
    assert client.get("/v1/sops", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_health_is_open_but_metrics_need_a_key_unless_made_public(client, sop_dir):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/metrics").status_code == 401
    assert "auditor_http_requests_total" in client.get("/metrics", headers=HEADERS).text
    with TestClient(create_app(make_settings(sop_dir, metrics_public=True))) as public:
        assert public.get("/metrics").status_code == 200


def test_auth_off_only_when_explicitly_disabled(sop_dir):
    with TestClient(create_app(make_settings(sop_dir, api_keys=[], auth_disabled=True))) as local:
        assert local.get("/v1/sops").status_code == 200
    with (
        pytest.raises(RuntimeError, match="no API key configured"),
        TestClient(create_app(make_settings(sop_dir, api_keys=[]))),
    ):
        pass


def test_keys_are_read_from_a_file_of_hashes_and_a_bad_line_is_named(tmp_path, sop_dir):
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# team A\nsha256:{hash_key('file-key')}\n", encoding="utf-8")
    with TestClient(create_app(make_settings(sop_dir, api_keys=[], api_keys_file=keys))) as service:
        assert service.get("/v1/sops", headers={"X-API-Key": "file-key"}).status_code == 200
    keys.write_text("not-a-hash\n", encoding="utf-8")
    problem = make_settings(sop_dir, api_keys=[], api_keys_file=keys).auth_problem()
    assert problem is not None and f"{keys}:1" in problem


def test_settings_come_from_auditor_environment_variables(monkeypatch):
    digest = hash_key("env-key")
    monkeypatch.setenv("AUDITOR_API_KEYS", f"sha256:{digest}, sha256:{hash_key('other')}")
    monkeypatch.setenv("AUDITOR_MAX_SESSIONS", "7")
    settings = Settings()
    assert digest in settings.key_hashes() and len(settings.key_hashes()) == 2
    assert settings.max_sessions == 7


def test_serve_refuses_to_start_without_keys_and_api_key_prints_a_usable_pair(monkeypatch):
    monkeypatch.delenv("AUDITOR_API_KEYS", raising=False)
    monkeypatch.delenv("AUDITOR_AUTH_DISABLED", raising=False)
    refused = CliRunner().invoke(cli, ["serve"])
    assert refused.exit_code == 2
    assert "no API key configured" in refused.output
    made = CliRunner().invoke(cli, ["api-key"])
    assert made.exit_code == 0
    key = made.output.split("it is not stored): ")[1].split()[0]
    assert f"sha256:{hash_key(key)}" in made.output
