"""Service settings, read from ``AUDITOR_*`` environment variables (``auditor serve`` options override them)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from auditor.settings import ENV_PREFIX, AuditorSettings


class Settings(AuditorSettings):
    """The library's settings (models, redaction, band: ``AuditorSettings``) plus the server's own. Every limit has a
    safe default; auth is on unless ``AUDITOR_AUTH_DISABLED=true`` says otherwise."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    sop_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Extra folders of SOP files (comma-separated); a same id overrides."
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="SHA-256 hashes of the accepted API keys ('sha256:<hex>', comma-separated)."
    )
    api_keys_file: Path | None = Field(None, description="A file with one key hash a line ('#' comments).")
    auth_disabled: bool = Field(False, description="Accept requests without a key: local use only.")
    metrics_public: bool = Field(False, description="Serve /metrics without a key (for a scraper on a private net).")
    max_body_bytes: int = Field(2_000_000, ge=1_000)
    max_turn_chars: int = Field(10_000, ge=10)
    max_turns: int = Field(2_000, ge=1)
    max_batch: int = Field(100, ge=1)
    max_sessions: int = Field(1_000, ge=1)
    max_sessions_per_key: int = Field(200, ge=1)
    session_idle_seconds: float = Field(900.0, gt=0)
    review_secret: str | None = Field(
        None, description="Signs coaches' login cookies on /review (default: random per process start)."
    )
    review_session_hours: float = Field(12.0, gt=0, le=720, description="How long a coach's login lasts.")
    people_file: Path | None = Field(
        None,
        description="YAML list of the team (name, role coach|agent|qa_lead, agent_id, own key hash): only they sign "
        "in to /review, each in their role. Without it everyone who signs in is a coach.",
    )
    rate_limit_per_second: float = Field(300.0, gt=0, description="Requests a second per API key, on average.")
    rate_limit_burst: float = Field(600.0, ge=1, description="Requests a key may send at once before waiting.")
    request_timeout_seconds: float = Field(30.0, gt=0, description="Longest an audit request may take (503).")
    auth_failures_allowed: int = Field(
        5, ge=1, description="Failed keys or review logins in a row per client address before it must wait (429)."
    )
    auth_backoff_max_seconds: float = Field(
        300.0, ge=1, description="Longest wait after failed sign-ins (1 s, doubled per further failure, up to this)."
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="A connection that has not sent a whole request head in this time is closed."
    )
    keep_alive_seconds: float = Field(
        75.0, gt=0, le=600, description="An idle keep-alive connection is closed after this long."
    )
    warm_up: bool = Field(True, description="Audit a short call through every model before /readyz says ready.")

    @field_validator("sop_dirs", "api_keys", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("api_keys")
    @classmethod
    def _hashes(cls, value: list[str]) -> list[str]:
        return [normalise_hash(item) for item in value]

    def key_hashes(self) -> set[str]:
        """Every accepted key hash (hex), from ``api_keys`` and ``api_keys_file``."""
        hashes = set(self.api_keys)
        if self.api_keys_file is not None:
            for number, line in enumerate(self.api_keys_file.read_text(encoding="utf-8").splitlines(), start=1):
                line = line.split("#", 1)[0].strip()
                if line:
                    try:
                        hashes.add(normalise_hash(line))
                    except ValueError as error:
                        raise ValueError(f"{self.api_keys_file}:{number}: {error}") from None
        return hashes

    def auth_problem(self) -> str | None:
        """Why the service cannot start safely, or None."""
        if self.auth_disabled:
            return None
        try:
            if self.key_hashes():
                return None
        except (OSError, ValueError) as error:
            return f"cannot read API keys: {error}"
        return (
            "no API key configured: set AUDITOR_API_KEYS to key hashes made by `auditor api-key`, "
            "or AUDITOR_AUTH_DISABLED=true (or `auditor serve --no-auth`) for local use only"
        )


def hash_key(key: str) -> str:
    """How keys are stored: the hex SHA-256 of the key (keys are long random strings, not passwords)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def normalise_hash(value: str) -> str:
    digest = value.strip().lower().removeprefix("sha256:")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a SHA-256 key hash (expected 'sha256:' and 64 hex digits): {value[:12]!r}...")
    return digest
