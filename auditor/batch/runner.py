"""One batch audit from inputs to reports, streaming: memory stays flat however many conversations there are.

1. Conversations stream from the inputs (``InputStream``); with ``resume`` those already in results.jsonl are
   skipped (same conversation id and source), the others are grouped in batches and audited on an engine (this
   process or Dask), and each batch is appended to results.jsonl atomically (``ResultsLog``). What stays in memory
   per conversation is its anomaly features (184 bytes) and, for the ``report_conversations`` worst ones, the
   transcript the report shows.
2. Anomalies are scored over the whole audit (``detector_for_audit``), and results.jsonl is rewritten through a
   ``.partial`` file and an atomic rename, while the aggregates the reports need are counted (``AuditSummary``).
3. agents.csv, steps.csv, agent_steps.csv and report.html are written from those aggregates.

A crash in step 1 loses at most the batch being written; a crash in step 2 or 3 leaves results.jsonl whole; in every
case ``resume`` finishes the job. Progress goes to a ``BatchProgress`` (the CLI draws it; the library draws nothing).
"""

from __future__ import annotations

import importlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from auditor.anomaly.agent_steps import AgentStepDeviation, agent_step_deviations, flagged_deviations
from auditor.anomaly.attach import with_anomaly_blocks
from auditor.anomaly.detector import AnomalyDetector
from auditor.batch.anomalies import Fallback, FeatureTable, detector_for_audit
from auditor.batch.engines import Audited, Engine, feature_vector
from auditor.batch.inputs import InputStream
from auditor.batch.report import REPORT_CONVERSATIONS, ShownConversation, write_audit_report
from auditor.batch.resume import LogIdentity, ResultsLog, ResumeError, conversation_source
from auditor.batch.summary import AuditSummary, StartDays, WorstConversations, worst_first_key
from auditor.conversation import Conversation
from auditor.outcome import outcome_of
from auditor.reports.aggregates import AgentSummary, StepSummary
from auditor.reports.files import ResultsWriter, write_agent_steps_csv, write_agents_csv, write_steps_csv
from auditor.result import ConversationResult
from auditor.sop_format import Sop
from auditor.transcripts.limits import SizeLimits
from auditor.transcripts.problems import LoadProblem

RESULTS_FILE = "results.jsonl"
BATCH_CHARS = 1_000_000
"""Characters of text a batch holds at most (it ends early past them): memory per batch stays bounded when many
conversations are long, and a very long conversation is audited in a batch of its own."""
RESCORE_CHUNK = 256
"""Results parsed, rescored and rewritten at a time in the anomaly pass."""
END_PHASE_MODULES = ("sklearn.ensemble", "sklearn.pipeline", "sklearn.preprocessing", "scipy.stats")
"""What the anomaly pass imports (the forest, Fisher's test): about a second, otherwise spent after the audit."""


class BatchProgress(Protocol):
    """What a batch audit reports while it runs (the CLI draws a progress bar from it)."""

    def started(self, total: int, resumed: int) -> None:
        """Models are loaded; about ``total`` conversations are left to audit, ``resumed`` were audited before."""

    def advanced(self, audited: int, total: int) -> None:
        """``audited`` more conversations are in results.jsonl; ``total`` is the current estimate of the work."""

    def problem(self, problem: LoadProblem) -> None:
        """An input that cannot be audited (it is skipped; the others go on)."""

    def phase(self, description: str) -> None:
        """A step after the audit itself (scoring anomalies, writing reports)."""


class SilentProgress:
    """Reports nothing (tests, benchmarks, library use)."""

    def started(self, total: int, resumed: int) -> None:
        return None

    def advanced(self, audited: int, total: int) -> None:
        return None

    def problem(self, problem: LoadProblem) -> None:
        return None

    def phase(self, description: str) -> None:
        return None


@dataclass
class BatchOutcome:
    """What a batch audit did, for the closing summary and the console tables."""

    out: Path
    audited: int
    """Conversations audited by this run."""
    resumed: int
    """Conversations found in results.jsonl from an interrupted run, not audited again."""
    problems: list[LoadProblem]
    summary: AuditSummary
    agents: list[AgentSummary] = field(default_factory=list)
    steps: list[StepSummary] = field(default_factory=list)
    deviations: list[AgentStepDeviation] = field(default_factory=list)
    """Every agent x step cell tested (agent_steps.csv)."""
    kept_without_input: int = 0
    """Results in results.jsonl whose conversation is not among this run's inputs: kept as they were."""
    shown_in_report: int = 0
    seconds: float = 0.0

    @property
    def coach(self) -> list[AgentStepDeviation]:
        return flagged_deviations(self.deviations)


def run_batch(
    inputs: Sequence[str | Path],
    sop: Sop,
    start_engine: Callable[[int], Engine],
    *,
    out: Path,
    identity: LogIdentity,
    resume: bool = False,
    batch_size: int = 32,
    fallback_detector: Fallback = None,
    report_conversations: int = REPORT_CONVERSATIONS,
    progress: BatchProgress | None = None,
    limits: SizeLimits | None = None,
    stored_id: Callable[[str], str | None] | None = None,
) -> BatchOutcome:
    """Audit ``inputs`` against ``sop`` into ``out``; ``start_engine`` is called once the first batch is ready, with
    the number of conversations left to audit as far as the inputs tell then (to size the engine).

    A conversation larger than ``limits`` (default ``SizeLimits()``) is a problem and is not audited; one whose audit
    raises is a problem naming the conversation and the error, and the others are audited and written all the same.
    ``stored_id`` gives the id results.jsonl holds for a conversation id (the redaction policy's
    ``redact_identifier``: an id holding personal data is stored as ``[PHONE]~digest``), so resume finds it.

    Raises ``ResumeError`` when results.jsonl cannot be resumed (corrupt, or another SOP or embedder). When no
    conversation could be loaded (and none was audited before) nothing is written and ``summary.total`` is 0.
    """
    began = time.perf_counter()
    progress = progress or SilentProgress()
    log = ResultsLog(out / RESULTS_FILE, resume=resume)
    if log.identity is not None and log.identity != identity:
        log.close()
        raise ResumeError(
            f"{log.path} holds an audit against {log.identity.describe()}; this run is against {identity.describe()}."
            " Resume with the same --sop, --embedder and redaction options, or write to another --out"
        )
    run = _Run(
        log, InputStream(inputs), batch_size, report_conversations, progress, limits or SizeLimits(), stored_id
    )
    outcome = BatchOutcome(out, 0, 0, run.problems, AuditSummary())
    shown: list[ShownConversation] = []
    try:
        batches = run.batches()
        first = next(batches, None)
        if first is None:
            progress.started(0, run.resumed)
        else:
            engine = start_engine(run.remaining())
            if not engine.in_process:
                _import_in_background(END_PHASE_MODULES)
            try:
                progress.started(run.remaining(), run.resumed)
                for conversations, audited in engine.audit(_chain(first, batches)):
                    run.record(conversations, audited)
            finally:
                engine.close()
        outcome.audited, outcome.resumed = run.audited, run.resumed
        if len(log) == 0:
            return outcome
        progress.phase("scoring anomalies")
        detector = detector_for_audit(run.features, fallback_detector)
        outcome.kept_without_input = len(log) - int(run.features.present_lines().size)
        final = run.final_results(detector, outcome.summary, shown)
        outcome.deviations = agent_step_deviations(final)
        for _ in final:  # already drained by the test above; the rewrite of results.jsonl ends with the stream
            pass
    finally:
        log.close()
    progress.phase("writing reports")
    _write_reports(outcome, shown, sop.name, [str(problem) for problem in run.problems])
    outcome.shown_in_report = len(shown)
    outcome.seconds = time.perf_counter() - began
    return outcome


def _import_in_background(modules: Sequence[str]) -> None:
    """Import ``modules`` on a thread while other processes audit (this one mostly waits for them), so the anomaly
    pass does not wait for them at the end; a failure here is left to the real import to report."""

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001  (the anomaly pass imports it again and reports the error there)
                return

    threading.Thread(target=run, name="import-end-phase", daemon=True).start()


def _chain(first: list[Conversation], rest: Iterator[list[Conversation]]) -> Iterator[list[Conversation]]:
    yield first
    yield from rest


class _Run:
    """The state of one run between the input stream, the engine, results.jsonl and the anomaly pass."""

    def __init__(
        self,
        log: ResultsLog,
        stream: InputStream,
        batch_size: int,
        report_conversations: int,
        progress: BatchProgress,
        limits: SizeLimits,
        stored_id: Callable[[str], str | None] | None = None,
    ):
        self.log = log
        self.stored_id = stored_id
        """The id results.jsonl holds for a conversation id (None: the id itself)."""
        self.limits = limits
        self.stream = stream
        self.batch_size = batch_size
        self.progress = progress
        self.features = FeatureTable()
        self.started = StartDays()
        self.worst = WorstConversations(report_conversations)
        self.problems: list[LoadProblem] = []
        self.audited = 0
        self.resumed = 0
        self._skipped_lines = 0
        self._items = iter(stream)

    def remaining(self) -> int:
        """Conversations left to audit, as far as the inputs tell so far."""
        return max(0, self.stream.estimated_total - self.resumed - self._skipped_lines)

    def batches(self) -> Iterator[list[Conversation]]:
        """Batches of conversations to audit; problems and already-audited conversations are handled on the way."""
        batch: list[Conversation] = []
        characters = 0
        for item in self._items:
            if isinstance(item, LoadProblem):
                self._problem(item)
            elif not self._audited_before(item) and not self._too_large(item):
                batch.append(item)
                characters += sum(len(turn.text) for turn in item.turns)
                if len(batch) == self.batch_size or characters >= BATCH_CHARS:
                    yield batch
                    batch = []
                    characters = 0
        if batch:
            yield batch

    def _problem(self, problem: LoadProblem) -> None:
        self.problems.append(problem)
        self._skipped_lines += problem.line is not None
        self.progress.problem(problem)

    def _too_large(self, conversation: Conversation) -> bool:
        """True (and a problem) when the conversation exceeds the size limits."""
        reason = self.limits.problem(conversation)
        if reason is not None:
            self._problem(LoadProblem(conversation.source or "", conversation.line, reason))
        return reason is not None

    def _audited_before(self, conversation: Conversation) -> bool:
        """True when results.jsonl already holds this conversation (it is then counted in, not audited again)."""
        stored = (self.stored_id(conversation.id) if self.stored_id else None) or conversation.id
        before = self.log.done.pop(stored, None)
        if before is None:
            return False
        source = conversation_source(conversation)
        if before.source != source:
            reason = (
                f"duplicate conversation id {stored}: results.jsonl line {before.line + 1} already holds it,"
                f" from {before.source}"
            )
            self._problem(LoadProblem(conversation.source or "", None, reason))
            return True
        result = self.log.read(before.line)
        self.features.set(before.line, feature_vector(conversation, result))
        self.started.set(before.line, conversation.started_at)
        key = worst_first_key(outcome_of(result), result.score, result.conversation_id)
        self.worst.offer(key, before.line, conversation)
        self.resumed += 1
        return True

    def record(self, conversations: list[Conversation], audited: list[Audited]) -> None:
        """Append an audited batch to results.jsonl and keep what the anomaly pass and the report need; a conversation
        whose audit failed is a problem (``path:line: reason``) instead."""
        kept = []
        for conversation, record in zip(conversations, audited, strict=True):
            if record.problem is None:
                kept.append((conversation, record))
            else:
                self._problem(LoadProblem(conversation.source or "", conversation.line, record.problem))
        if kept:
            first = self.log.append([record.line for _, record in kept])
            for offset, (conversation, record) in enumerate(kept):
                self.features.set(first + offset, record.features)
                self.started.set(first + offset, conversation.started_at)
                key = worst_first_key(record.outcome, record.score, record.conversation_id)
                self.worst.offer(key, first + offset, conversation)
        self.audited += len(kept)
        self.progress.advanced(len(kept), max(self.audited, self.remaining()))

    def final_results(
        self,
        detector: AnomalyDetector | None,
        summary: AuditSummary,
        shown: list[ShownConversation],
    ) -> Iterator[ConversationResult]:
        """Every result in file order with its anomaly block, written to results.jsonl (atomically replaced at the
        end), counted into ``summary``, the report's ones kept in ``shown``."""
        conversations = self.worst.conversations_by_line()
        path = self.log.path
        partial = path.with_name(path.name + ".partial")
        writer = ResultsWriter(partial) if detector is not None else None
        lines = enumerate(self.log.lines())
        while chunk := list(itertools.islice(lines, RESCORE_CHUNK)):
            results = [ConversationResult.model_validate_json(line) for _, line in chunk]
            if detector is not None and writer is not None:
                scored = [k for k, (number, _) in enumerate(chunk) if self.features.has(number)]
                rows = [self.features.row(chunk[k][0]) for k in scored]
                annotated = with_anomaly_blocks(detector, [results[k] for k in scored], rows)
                for k, result in zip(scored, annotated, strict=True):
                    results[k] = result
                writer.write(results)
            for (number, _), result in zip(chunk, results, strict=True):
                summary.add(result, self.started.get(number))
                if number in conversations:
                    key = worst_first_key(outcome_of(result), result.score, result.conversation_id)
                    shown.append(ShownConversation(key, result.model_dump_json(), conversations[number]))
                yield result
            del results, chunk  # before the next chunk is parsed, so two never coexist
        if writer is not None:
            writer.close()
            partial.replace(path)
            _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _write_reports(
    outcome: BatchOutcome,
    shown: list[ShownConversation],
    sop_name: str,
    problems: list[str],
) -> None:
    out, summary = outcome.out, outcome.summary
    outcome.agents = summary.agents()
    outcome.steps = summary.steps()
    write_agents_csv(out / "agents.csv", outcome.agents)
    write_steps_csv(out / "steps.csv", outcome.steps)
    write_agent_steps_csv(out / "agent_steps.csv", outcome.deviations)
    write_audit_report(
        out / "report.html",
        summary,
        shown,
        outcome.agents,
        outcome.steps,
        sop_name=sop_name,
        problems=problems,
        deviations=outcome.coach,
        deviation_cells=len(outcome.deviations),
    )
