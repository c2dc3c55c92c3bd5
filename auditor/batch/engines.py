"""Where batches of conversations are audited: in this process (``LocalEngine``) or on Dask (``dask_engine``).

An engine turns an iterator of batches into an iterator of audited batches, *in the order given*, so the results
file of a run does not depend on the engine. What comes back per conversation is an ``Audited``: the result as its
JSON line plus the few numbers the rest of the run needs (the worst-first order and the anomaly features), so the
driver never re-parses what it just wrote.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from auditor.anomaly.features import FEATURE_NAMES, conversation_features
from auditor.auditor import Auditor
from auditor.batch.resume import LogIdentity
from auditor.conversation import Conversation
from auditor.outcome import outcome_of
from auditor.result import ConversationResult
from auditor.settings import AuditorSettings
from auditor.sop_format import Sop

DEFAULT_THREADS = 1
"""BLAS threads per audit process: parallelism comes from processes (Dask workers), one per core."""
BATCH_CACHE_ENTRIES = 16_384
"""Texts whose vectors a batch process keeps (about 34 MB at 512 dimensions): every scripted line, bounded memory."""


def batch_settings(**values: Any) -> AuditorSettings:
    """The settings of a batch audit: ``DEFAULT_THREADS`` embedding threads and ``BATCH_CACHE_ENTRIES`` unless
    ``values`` say otherwise, the rest from ``values``, else the environment (``AuditorSettings``)."""
    return AuditorSettings(**({"embedder_threads": DEFAULT_THREADS, "cache_entries": BATCH_CACHE_ENTRIES} | values))


def build_auditor(sop: Sop, settings: AuditorSettings) -> tuple[Auditor, list[str]]:
    """The Auditor a batch process uses (no anomaly baseline: the batch scores anomalies over the whole audit),
    with notes on optional models left out. Raises ModelUnavailableError / ModelFileError like ``load_models``."""
    from auditor.service import load_models

    models = load_models(settings.model_copy(update={"anomalies": False}))
    return models.auditor(sop, anomalies=False), list(models.notes)


@dataclass(frozen=True)
class Audited:
    """One audited conversation: its result line (no anomaly block yet), worst-first key and anomaly features; or,
    when auditing it raised, ``problem`` says why (then ``line`` is empty and nothing is written for it)."""

    conversation_id: str
    line: str
    outcome: str
    """passed / failed / needs_review (the worst-first key of the report)."""
    score: float
    features: np.ndarray
    """``auditor.anomaly.features.FEATURE_NAMES`` in order, float64, ``nan`` where unmeasured."""
    problem: str | None = None


MAX_FAILURE_CHARS = 300
"""Longest exception message a conversation's problem repeats."""


def feature_vector(conversation: Conversation, result: ConversationResult) -> np.ndarray:
    """The anomaly features of one audited conversation, as ``with_anomalies`` computes them."""
    unhappy = result.dissatisfaction.score if result.dissatisfaction is not None else None
    row = conversation_features(conversation, result, dissatisfaction_score=unhappy)
    return np.array([row[name] for name in FEATURE_NAMES], dtype=np.float64)


def audit_batch(auditor: Auditor, conversations: Sequence[Conversation]) -> list[Audited]:
    """Audit one batch (its texts embedded in one call) and package the results.

    Never raises for a conversation: when the batch fails, each of its conversations is audited alone, and one that
    still fails comes back as an ``Audited`` with its ``problem`` (the exception, named), so one bad conversation
    costs only itself, on every engine."""
    try:
        results = auditor.audit_many(conversations)
        return [_packaged(conversation, result) for conversation, result in zip(conversations, results, strict=True)]
    except Exception as error:  # noqa: BLE001 - anything one conversation raises must not take its batch down
        if len(conversations) == 1:
            return [failed(conversations[0], error)]
    return [audit_one(auditor, conversation) for conversation in conversations]


def audit_one(auditor: Auditor, conversation: Conversation) -> Audited:
    """Audit one conversation; an exception becomes its ``problem``."""
    try:
        return _packaged(conversation, auditor.audit_many([conversation])[0])
    except Exception as error:  # noqa: BLE001 - reported as this conversation's problem
        return failed(conversation, error)


def _packaged(conversation: Conversation, result: ConversationResult) -> Audited:
    return Audited(
        result.conversation_id,
        result.model_dump_json(),
        outcome_of(result),
        result.score,
        feature_vector(conversation, result),
    )


def failed(conversation: Conversation, error: BaseException) -> Audited:
    """The record of a conversation whose audit raised ``error``: a problem naming the conversation and the error
    (its message cut short and redacted: it may quote the transcript)."""
    from auditor.privacy.redaction import redact
    from auditor.transcripts.records import shown_id

    message = " ".join(str(error).split())
    if len(message) > MAX_FAILURE_CHARS:
        message = message[:MAX_FAILURE_CHARS] + "..."
    detail = f"{type(error).__name__}: {redact(message)}" if message else type(error).__name__
    problem = f"conversation {shown_id(conversation.id)} could not be audited ({detail}); the others were"
    return Audited(conversation.id, "", "", 0.0, np.zeros(0), problem=problem)


def died(conversation: Conversation, how: str) -> Audited:
    """The record of a conversation whose worker process died auditing it, alone (``how``: its exit code or
    signal, as far as known)."""
    from auditor.transcripts.records import shown_id

    problem = f"conversation {shown_id(conversation.id)} could not be audited: its worker process died ({how})"
    problem += "; the others were"
    return Audited(conversation.id, "", "", 0.0, np.zeros(0), problem=problem)


class WorkersDiedError(RuntimeError):
    """Worker processes die whatever they audit (each of several conversations in a row killed its worker when
    audited alone): the audit stops, with what was audited so far in results.jsonl."""


MAX_DEATHS_IN_A_ROW = 3
"""Conversations in a row (none audited between them) that may each kill their worker process, audited alone,
before the audit stops: past that the workers die whatever they audit (no memory left for the models, a broken
native library), not because of one conversation."""


class DeathsInARow:
    """The conversations in a row that each killed their worker, audited alone (process pool and Dask alike)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def audited(self, records: list[Audited]) -> None:
        """A batch came back: one conversation audited breaks the row."""
        if any(record.problem is None for record in records):
            self.ids.clear()

    def died(
        self,
        conversation: Conversation,
        workers: str,
        last: str = "",
        advice: str = "",
        cause: BaseException | None = None,
    ) -> None:
        """Count a conversation that killed its worker alone; raise ``WorkersDiedError`` (from ``cause``) at
        ``MAX_DEATHS_IN_A_ROW`` (``workers`` names them, ``last`` how the last one ended, ``advice`` what to change
        before resuming)."""
        from auditor.transcripts.records import shown_id

        self.ids.append(shown_id(conversation.id))
        if len(self.ids) >= MAX_DEATHS_IN_A_ROW:
            raise WorkersDiedError(
                f"{workers} died auditing {len(self.ids)} conversations in a row, each alone"
                f" ({', '.join(self.ids)}{last}): they die whatever they audit (out of memory? a native library that"
                " crashes?), so the audit stops. The conversations audited so far are in results.jsonl: fix the"
                f" cause{advice} and run again with --resume"
            ) from cause


class Engine(Protocol):
    """Audits batches and yields them back in the order given."""

    in_process: bool
    """True when the batches are audited in this process (its CPU is busy until the audit ends)."""

    def audit(self, batches: Iterable[list[Conversation]]) -> Iterator[tuple[list[Conversation], list[Audited]]]: ...

    def close(self) -> None: ...


class LocalEngine:
    """Audit in this process, batch after batch."""

    in_process = True

    def __init__(self, auditor: Auditor):
        self.auditor = auditor

    @classmethod
    def start(cls, sop: Sop, settings: AuditorSettings) -> tuple[LocalEngine, list[str]]:
        auditor, notes = build_auditor(sop, settings)
        return cls(auditor), notes

    def audit(self, batches: Iterable[list[Conversation]]) -> Iterator[tuple[list[Conversation], list[Audited]]]:
        for batch in batches:
            yield batch, audit_batch(self.auditor, batch)

    def close(self) -> None:
        return None


Pending = TypeVar("Pending")


def in_submission_order(
    batches: Iterable[list[Conversation]],
    submit: Callable[[list[Conversation]], Pending],
    collect: Callable[[Pending], list[Audited]],
    in_flight: int,
) -> Iterator[tuple[list[Conversation], list[Audited]]]:
    """Submit batches to workers keeping at most ``in_flight`` outstanding, and yield them back in the order given
    (so results.jsonl does not depend on which worker finished first); ``collect`` waits for one submission."""
    pending: deque[tuple[list[Conversation], Pending]] = deque()
    for batch in batches:
        pending.append((batch, submit(batch)))
        if len(pending) >= in_flight:
            done, submitted = pending.popleft()
            yield done, collect(submitted)
    while pending:
        done, submitted = pending.popleft()
        yield done, collect(submitted)


def expected_identity(sop: Sop, settings: AuditorSettings) -> LogIdentity:
    """What every result of this audit will record (SOP and embedder), to check a results file resumed against."""
    from auditor.embeddings.provider import make_embedder

    embedder = make_embedder(settings.embedder, threads=settings.embedder_threads, cache_entries=0)  # builds nothing
    embedder_id = f"{embedder.name} ({embedder.version})"
    return LogIdentity(sop.id, str(sop.version), embedder_id, settings.redaction_policy().record)
