"""Fill the result contract's ``anomaly`` block (and the ``anomalous`` flag) for a batch of audited conversations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditor.anomaly.detector import AnomalyDetector, fit_anomaly_detector
from auditor.anomaly.features import conversation_features
from auditor.conversation import Conversation
from auditor.result import ConversationResult

ANOMALOUS_FLAG = "anomalous"
MODELS_KEY = "anomaly"
BATCH_BASELINE_MIN = 50
"""From this many conversations on, an audit is its own baseline: unusual means unusual among these calls."""


def detector_for_batch(
    conversations: Sequence[Conversation],
    results: Sequence[ConversationResult],
    fallback: AnomalyDetector | None,
) -> AnomalyDetector | None:
    """A detector fitted on this audit's own conversations when there are enough of them, else ``fallback``.

    The shipped baseline describes other teams' calls (STAR and the project corpora); a QA lead auditing a
    folder of their own calls wants what is unusual among those, so a large enough audit is its own baseline.
    """
    if len(results) < BATCH_BASELINE_MIN:
        return fallback
    rows = [
        conversation_features(c, r, dissatisfaction_score=r.dissatisfaction.score if r.dissatisfaction else None)
        for c, r in zip(conversations, results, strict=True)
    ]
    try:
        return fit_anomaly_detector(rows, trained_on=f"this audit's {len(rows)} conversations")
    except ValueError:
        return fallback


def with_anomalies(
    detector: AnomalyDetector,
    conversations: Sequence[Conversation],
    results: Sequence[ConversationResult],
    *,
    extras: Sequence[Mapping[str, float] | None] | None = None,
) -> list[ConversationResult]:
    """Copies of ``results`` (same order as ``conversations``) with ``anomaly``, the flag and the model recorded.

    The dissatisfaction score is read from each result's ``dissatisfaction`` block when it is filled, so call this
    after dissatisfaction scoring. ``extras`` are extra features per conversation (e.g. from the dissatisfaction
    module); only those the detector was fitted on are used.
    """
    if len(conversations) != len(results):
        raise ValueError(f"{len(conversations)} conversations but {len(results)} results")
    rows = []
    for index, (conversation, result) in enumerate(zip(conversations, results, strict=True)):
        if conversation.id != result.conversation_id:
            raise ValueError(f"result {result.conversation_id!r} is not for conversation {conversation.id!r}")
        dissatisfaction = result.dissatisfaction.score if result.dissatisfaction is not None else None
        extra = extras[index] if extras is not None else None
        rows.append(conversation_features(conversation, result, dissatisfaction_score=dissatisfaction, extra=extra))
    return with_anomaly_blocks(detector, results, rows)


def with_anomaly_blocks(
    detector: AnomalyDetector, results: Sequence[ConversationResult], rows: Sequence[Mapping[str, float]]
) -> list[ConversationResult]:
    """Copies of ``results`` with the ``anomaly`` block, the ``anomalous`` flag and the detector in ``models``,
    scored from the conversations' feature rows (``with_anomalies`` computes them; a batch audit keeps them)."""
    annotated = []
    for result, anomaly in zip(results, detector.score_many(rows), strict=True):
        flags = [flag for flag in result.flags if flag != ANOMALOUS_FLAG]
        if anomaly.flagged:
            flags.append(ANOMALOUS_FLAG)
        models = {**result.models, MODELS_KEY: detector.summary}
        annotated.append(result.model_copy(update={"anomaly": anomaly, "flags": flags, "models": models}))
    return annotated
