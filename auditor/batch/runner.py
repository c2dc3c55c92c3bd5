"""One batch audit from inputs to reports, streaming: memory stays flat however many conversations there are.

``start_batch`` opens the run; the caller takes its two steps:

1. Iterating the ``BatchRun``: conversations stream from the inputs (``InputStream``); with ``resume`` those already
   in results.jsonl are skipped (same conversation id and source), the others are grouped in batches and audited on
   an engine (this process or Dask), and each batch is appended to results.jsonl atomically (``ResultsLog``) and
   yielded. What stays in memory per conversation is its anomaly features (184 bytes) and, for the
   ``report_conversations`` worst ones, the transcript the report shows. These lines have no anomaly block yet.
2. ``BatchRun.finish()``: anomalies are scored over what was audited (``detector_for_audit``) and results.jsonl is
   rewritten with them through a ``.partial`` file and an atomic rename (``rescore_anomalies``), while the
   aggregates the reports need are counted (``AuditSummary``); then agents.csv, steps.csv, agent_steps.csv and
   report.html are written from those aggregates.

A caller may stop iterating early: ``finish`` then stops the audit and scores and reports what was audited
(``BatchOutcome.complete`` is False). A run closed without ``finish`` leaves results.jsonl without anomaly blocks
and no reports (``BatchRun.pending`` says so); ``resume`` finishes it. ``run_batch`` takes both steps.

A crash in step 1 loses at most the batch being written; a crash in step 2 leaves results.jsonl whole; in every
case ``resume`` finishes the job. Progress goes to a ``BatchProgress`` (the CLI draws it; the library draws nothing).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from auditor.anomaly.agent_steps import AgentStepDeviation, agent_step_deviations, flagged_deviations
from auditor.batch.anomalies import Fallback, FeatureTable, detector_for_audit, rescore_anomalies
from auditor.batch.engines import Audited, Engine, feature_vector
from auditor.batch.inputs import InputStream
from auditor.batch.resume import LogIdentity, ResultsLog, ResumeError, conversation_source
from auditor.batch.summary import REPORT_CONVERSATIONS, StartDays, WorstConversations
from auditor.conversation import Conversation
from auditor.outcome import outcome_of
from auditor.reports.aggregates import AgentSummary, StepSummary
from auditor.reports.files import write_agent_steps_csv, write_agents_csv, write_steps_csv
from auditor.reports.html import ShownConversation, localised_sop_name, localised_step_names, write_report
from auditor.reports.summary import AuditSummary, worst_first_key
from auditor.result import ConversationResult
from auditor.results_file import RESULTS_FILE
from auditor.sop_format import Sop
from auditor.transcripts.limits import SizeLimits
from auditor.transcripts.options import ReadOptions
from auditor.transcripts.problems import LoadProblem

BATCH_CHARS = 1_000_000
"""Characters of text a batch holds at most (it ends early past them): memory per batch stays bounded when many
conversations are long, and a very long conversation is audited in a batch of its own."""
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
    complete: bool = True
    """False when the caller stopped iterating the run before every input was audited (``finish`` came early)."""

    @property
    def coach(self) -> list[AgentStepDeviation]:
        return flagged_deviations(self.deviations)


def start_batch(
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
    read_options: ReadOptions | None = None,
    report_lang: str = "en",
) -> BatchRun:
    """Open a batch audit of ``inputs`` against ``sop`` into ``out``: iterate the run to audit, then ``finish`` it.
    ``start_engine`` is called once the first batch is ready, with the number of conversations left to audit as far
    as the inputs tell then (to size the engine).

    A conversation larger than ``limits`` (default ``SizeLimits()``) is a problem and is not audited; one whose audit
    raises is a problem naming the conversation and the error, and the others are audited and written all the same.
    ``stored_id`` gives the id results.jsonl holds for a conversation id (the redaction policy's
    ``redact_identifier``: an id holding personal data is stored as ``[PHONE]~digest``), so resume finds it.
    ``read_options``: the CSV column mapping, the ids of subtitle and text files and the roles of speaker labels in
    every input (``--csv-columns``, ``--id-pattern``, ``--agent-id``, ``--speaker-map``). ``report_lang``: the
    language of report.html's interface text and step names (``--report-lang``, one of ``REPORT_LANGUAGES``).

    Raises ``ResumeError`` when results.jsonl cannot be resumed (corrupt, or another SOP or embedder).
    """
    began = time.perf_counter()
    log = ResultsLog(out / RESULTS_FILE, resume=resume)
    if log.identity is not None and log.identity != identity:
        log.close()
        raise ResumeError(
            f"{log.path} holds an audit against {log.identity.describe()}; this run is against {identity.describe()}."
            " Resume with the same --sop, --embedder and redaction options, or write to another --out"
        )
    progress = progress or SilentProgress()
    stream = InputStream(inputs, options=read_options)
    run = _Run(log, stream, batch_size, report_conversations, progress, limits or SizeLimits(), stored_id)
    step_names = localised_step_names(sop, report_lang) if report_lang != "en" else None
    return BatchRun(
        run, localised_sop_name(sop, report_lang), start_engine, fallback_detector, out, began, report_lang, step_names
    )


def run_batch(
    inputs: Sequence[str | Path],
    sop: Sop,
    start_engine: Callable[[int], Engine],
    **options: Any,
) -> BatchOutcome:
    """Audit every input and finish (``start_batch``'s two steps in one call); ``options`` as ``start_batch``'s.
    When no conversation could be loaded (and none was audited before) nothing is written and ``summary.total``
    is 0."""
    with start_batch(inputs, sop, start_engine, **options) as run:
        for _ in run:
            pass
        return run.finish()


class BatchRun:
    """One batch audit, in two explicit steps.

    Iterating it audits the inputs batch by batch; each batch (the ``Audited`` records of the conversations it wrote)
    is appended to results.jsonl, without anomaly blocks, before it is yielded. ``finish()`` is the anomaly step and
    the reports: it scores anomalies over everything audited, rewrites results.jsonl with the blocks and writes
    agents.csv, steps.csv, agent_steps.csv and report.html. A caller that stops iterating early calls ``finish()`` all
    the same (the audit stops there; ``BatchOutcome.complete`` is False). Until ``finish()`` has returned,
    ``pending`` says what is missing; closing the run without it (``close``, or leaving its ``with`` block) writes
    nothing more, and ``auditor audit --resume`` on ``out`` finishes the job.
    """

    def __init__(
        self,
        run: _Run,
        sop_name: str,
        start_engine: Callable[[int], Engine],
        fallback_detector: Fallback,
        out: Path,
        began: float,
        report_lang: str = "en",
        step_names: dict[str, str] | None = None,
    ):
        self.out = out
        self.finished = False
        self.complete = False
        """Every input was audited (the iteration ran to its end)."""
        self._run = run
        self._sop_name = sop_name
        self._start_engine = start_engine
        self._fallback = fallback_detector
        self._began = began
        self._report_lang = report_lang
        self._step_names = step_names
        self._batches = self._audit()

    def __iter__(self) -> Iterator[list[Audited]]:
        return self._batches

    @property
    def pending(self) -> str | None:
        """What the run still owes results.jsonl and the reports (None once ``finish`` has returned)."""
        if self.finished:
            return None
        written = len(self._run.log)
        return (
            f"{self._run.log.path}: {written:,} result(s) without anomaly blocks and no reports yet: call finish()"
            " (or run `auditor audit --resume` on this folder)"
        )

    def _audit(self) -> Generator[list[Audited], None, None]:
        run, progress = self._run, self._run.progress
        batches = run.batches()
        first = next(batches, None)
        if first is None:
            progress.started(0, run.resumed)
            self.complete = True
            return
        engine = self._start_engine(run.remaining())
        if not engine.in_process:
            _import_in_background(END_PHASE_MODULES)
        try:
            progress.started(run.remaining(), run.resumed)
            for conversations, audited in engine.audit(_chain(first, batches)):
                yield run.record(conversations, audited)
            self.complete = True
        finally:
            engine.close()

    def finish(self) -> BatchOutcome:
        """Stop auditing (if the caller stopped iterating early), score anomalies over every result in results.jsonl
        and rewrite it with their blocks, then write the reports; returns what the run did. When results.jsonl has
        no result, nothing is written and ``summary.total`` is 0."""
        if self.finished:
            raise RuntimeError("this batch run is finished already")
        run = self._run
        self._batches.close()  # a generator stopped early: its engine is closed here
        outcome = BatchOutcome(self.out, run.audited, run.resumed, run.problems, AuditSummary(), complete=self.complete)
        shown: list[ShownConversation] = []
        try:
            if len(run.log) == 0:
                self.finished = True
                return outcome
            run.progress.phase("scoring anomalies")
            detector = detector_for_audit(run.features, self._fallback)
            outcome.kept_without_input = len(run.log) - int(run.features.present_lines().size)
            outcome.deviations = rescore_anomalies(
                run.log,
                run.features,
                detector,
                lambda final: agent_step_deviations(run.counted(final, outcome.summary, shown)),
            )
        finally:
            run.log.close()
        run.progress.phase("writing reports")
        problems = [str(problem) for problem in run.problems]
        _write_reports(outcome, shown, self._sop_name, problems, self._report_lang, self._step_names)
        outcome.shown_in_report = len(shown)
        outcome.seconds = time.perf_counter() - self._began
        self.finished = True
        return outcome

    def close(self) -> None:
        """Stop auditing and close results.jsonl; without ``finish`` first, nothing more is written."""
        self._batches.close()
        self._run.log.close()

    def __enter__(self) -> BatchRun:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


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

    def record(self, conversations: list[Conversation], audited: list[Audited]) -> list[Audited]:
        """Append an audited batch to results.jsonl and keep what the anomaly pass and the report need; a conversation
        whose audit failed is a problem (``path:line: reason``) instead. Returns the records written."""
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
        return [record for _, record in kept]

    def counted(
        self,
        final: Iterator[tuple[int, ConversationResult]],
        summary: AuditSummary,
        shown: list[ShownConversation],
    ) -> Iterator[ConversationResult]:
        """The final results (with their line), counted into ``summary`` and the report's ones kept in ``shown``."""
        conversations = self.worst.conversations_by_line()
        for number, result in final:
            summary.add(result, self.started.get(number))
            if number in conversations:
                key = worst_first_key(outcome_of(result), result.score, result.conversation_id)
                shown.append(ShownConversation(key, result.model_dump_json(), conversations[number]))
            yield result


def _write_reports(
    outcome: BatchOutcome,
    shown: list[ShownConversation],
    sop_name: str,
    problems: list[str],
    report_lang: str = "en",
    step_names: dict[str, str] | None = None,
) -> None:
    out, summary = outcome.out, outcome.summary
    outcome.agents = summary.agents()
    outcome.steps = summary.steps()
    write_agents_csv(out / "agents.csv", outcome.agents)
    write_steps_csv(out / "steps.csv", outcome.steps)
    write_agent_steps_csv(out / "agent_steps.csv", outcome.deviations)
    write_report(
        out / "report.html",
        summary,
        shown,
        outcome.agents,
        outcome.steps,
        sop_name=sop_name,
        problems=problems,
        deviations=outcome.coach,
        deviation_cells=len(outcome.deviations),
        lang=report_lang,
        step_names=step_names,
    )
