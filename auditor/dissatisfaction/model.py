"""The dissatisfaction scorer: per customer turn and per conversation, with named signals and the trajectory.

Three small scikit-learn models, stored together with skops (never pickle) and a model card:
``negativity`` (the customer's stance from the turn embedding), ``turn`` (P(the customer is dissatisfied at this
turn) from the turn, the agent turn before it, the exchange between them and the signals), and ``conversation``
(P(dissatisfied conversation) from the curve and signal aggregates). Built by ``train_dissatisfaction``.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from auditor.conversation import Role
from auditor.dissatisfaction.features import (
    CONVERSATION_FEATURES,
    TURN_FEATURES,
    TurnRows,
    conversation_features,
    conversation_row,
    turn_alerts,
    turn_rows,
)
from auditor.dissatisfaction.signals import (
    AGENT_SIDE_SIGNALS,
    SIGNALS,
    SignalContext,
    SignalDetector,
    SignalHit,
    agent_apology,
    builtin_signal_detectors,
    detect_signals,
)
from auditor.dissatisfaction.trajectory import Trajectory, trajectory
from auditor.model_files import (
    DISSATISFACTION,
    FoldedLogistic,
    ModelFileError,
    ModelFolder,
    import_skops_io,
    write_folded,
)
from auditor.result import Dissatisfaction, TurnSignal
from auditor.text.artifacts import ConversationArtifacts

ESTIMATORS = ("negativity", "turn", "conversation")


TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
]
"""Everything a dissatisfaction model file may contain besides plain numpy and builtins; anything else is refused."""


class DissatisfactionModelError(RuntimeError):
    """A dissatisfaction model folder is missing, incomplete, for another embedder, or holds untrusted types."""


@dataclass
class DissatisfactionMetadata:
    """What the scorer needs at run time, and what it was trained and measured on."""

    embedder: str
    threshold: float
    negative_threshold: float
    repetition_threshold: float
    max_gap_seconds: float
    trajectory_margin: float
    pooled_embeddings: bool
    turn_features: list[str]
    conversation_features: list[str]
    trained_on: str
    created: str
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class DissatisfactionOutcome:
    """Everything the scorer says about one conversation.

    ``block`` is the result contract's ``dissatisfaction`` object; ``trajectory`` the curve and whether it
    recovered after the apology; ``features`` the named conversation features (``dissatisfaction.*``) for the
    conversation feature vector; ``hits`` every signal with its evidence.
    """

    block: Dissatisfaction
    trajectory: Trajectory
    features: dict[str, float]
    hits: list[SignalHit]


class DissatisfactionScorer:
    """Scores conversations from their shared artifacts; load once, reuse for many conversations."""

    name = "dissatisfaction-scorer"
    version = "3"
    """2: the turn model reads the exchange with the agent (context features, four embedding blocks) and learns
    the share of annotators; a model folder made for version 1 is refused (its turn features differ). 3: a turn's
    score is the higher of the turn model's and the square of its plain-dissatisfaction reading (``turn_alerts``)."""

    def __init__(
        self, estimators: dict[str, Any] | None, metadata: DissatisfactionMetadata, *, folder: ModelFolder | None = None
    ):
        """``estimators``: the fitted models by name; or None with ``folder``, the opened model folder they are read
        from when something needs them (scoring needs only the folded numbers)."""
        if list(metadata.turn_features) != list(TURN_FEATURES) or list(metadata.conversation_features) != list(
            CONVERSATION_FEATURES
        ):
            raise DissatisfactionModelError(
                "model was trained on other features than this auditor computes; retrain it (train_dissatisfaction)"
            )
        if estimators is not None:
            self._checked(estimators, None)
            self._folded = {name: FoldedLogistic.of(estimators[name]) for name in ESTIMATORS}
        elif folder is not None:
            self._folded = {name: folder.folded.get(name) for name in ESTIMATORS}
        else:
            raise ValueError("a DissatisfactionScorer needs its estimators or the model folder they come from")
        self._estimators = estimators
        self._folder = folder
        self.metadata = metadata
        self.detectors: dict[str, SignalDetector] = builtin_signal_detectors(
            repetition_threshold=metadata.repetition_threshold,
            negative_threshold=metadata.negative_threshold,
            max_gap_seconds=metadata.max_gap_seconds,
        )

    @property
    def estimators(self) -> dict[str, Any]:
        if self._estimators is None and self._folder is not None:
            self._estimators = self._checked(self._folder.estimator, self._folder.folder)
        assert self._estimators is not None
        return self._estimators

    @staticmethod
    def _checked(estimators: Any, folder: Path | None) -> dict[str, Any]:
        """``estimators`` when it maps every name in ESTIMATORS to a model; errors name ``folder`` when known."""
        where = f"{folder}: " if folder is not None else ""
        if not isinstance(estimators, dict):
            raise DissatisfactionModelError(f"{where}expected a mapping of estimators")
        missing = [name for name in ESTIMATORS if name not in estimators]
        if missing:
            raise DissatisfactionModelError(f"{where}model file lacks estimators {missing}")
        return estimators

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    @property
    def summary(self) -> str:
        """``name@version (trained on ...; created ...)`` for the result's ``models`` map."""
        return f"{self.name}@{self.version} ({self.metadata.trained_on}; created {self.metadata.created})"

    @property
    def models(self) -> dict[str, str]:
        """Entries for the result's ``models`` map: the scorer and every signal detector with its version."""
        detectors = ",".join(sorted(f"{d.name}@{d.version}" for d in self.detectors.values()))
        return {"dissatisfaction": self.summary, "dissatisfaction_signals": detectors}

    def check_embedder(self, embedder_name: str) -> None:
        """Refuse to score artifacts from another embedder than the one the model was trained with."""
        if embedder_name != self.metadata.embedder:
            raise DissatisfactionModelError(
                f"dissatisfaction model was trained with embedder {self.metadata.embedder!r}, not {embedder_name!r}"
            )

    def negativity(self, vectors: np.ndarray) -> np.ndarray:
        """P(unhappy stance) for each row of whole-turn vectors."""
        if not len(vectors):
            return np.zeros(0)
        return self._probabilities("negativity", vectors)

    def _probabilities(self, name: str, matrix: np.ndarray) -> np.ndarray:
        """P(positive class) of one of the estimators; the shipped linear ones as plain numpy (same numbers as
        ``predict_proba`` to rounding, without scikit-learn's checks on each of the three calls a conversation)."""
        folded = self._folded[name]
        if folded is not None:
            return folded.probabilities(matrix)
        return np.asarray(self.estimators[name].predict_proba(matrix)[:, 1])

    def context(self, artifacts: ConversationArtifacts) -> SignalContext:
        """Signal context with the negativity of every customer turn filled in."""
        context = SignalContext.build(artifacts)
        customers = [t.turn.index for t in context.customer_turns]
        if customers:
            values = self.negativity(np.stack([context.turn_vectors[i] for i in customers]))
            context.negativity = dict(zip(customers, values.tolist(), strict=True))
        return context

    def score(self, artifacts: ConversationArtifacts) -> DissatisfactionOutcome:
        """Turn scores, named signals, trajectory, conversation score and flag for one conversation."""
        context = self.context(artifacts)
        hits = detect_signals(context, self.detectors)
        return self.score_rows(context, hits, turn_rows(context, hits), apology_turns(artifacts))

    def score_rows(
        self, context: SignalContext, hits: Sequence[SignalHit], rows: TurnRows, apologies: Sequence[int]
    ) -> DissatisfactionOutcome:
        """The outcome from the signal context, every signal hit, the turn rows and the agent's apology turns (what
        ``score`` computes from the artifacts; a live session keeps them as turns arrive)."""
        turn_scores = self.turn_model_scores(rows)
        margin = self.metadata.trajectory_margin
        modelled = trajectory(list(zip(rows.turn_indices, turn_scores.tolist(), strict=True)), apologies, margin)
        alerts = turn_alerts(context, hits, rows.turn_indices)  # rows are the customer turns, in order
        row = conversation_row(
            context,
            hits,
            turn_scores,
            modelled.delta,
            self.metadata.negative_threshold,
            pooled=self.metadata.pooled_embeddings,
            apologies=len(apologies),
            alerts=alerts,
        )
        score = float(self._probabilities("conversation", row[None, :])[0])
        shown = np.maximum(turn_scores, alerts**2)
        path = trajectory(list(zip(rows.turn_indices, shown.tolist(), strict=True)), apologies, margin)
        block = Dissatisfaction(
            score=round(score, 4),
            flagged=score >= self.metadata.threshold,
            turns=turn_signals(path.curve, hits),
        )
        features = conversation_features(row) | {"dissatisfaction.score": round(score, 4)}
        return DissatisfactionOutcome(block, path, features, list(hits))

    def turn_model_scores(self, rows: TurnRows) -> np.ndarray:
        """The turn model's P(dissatisfied) of each turn row (before ``turn_alerts`` raise what results show)."""
        return self._probabilities("turn", rows.matrix) if len(rows.matrix) else np.zeros(0)

    def score_many(self, artifacts: Sequence[ConversationArtifacts]) -> list[DissatisfactionOutcome]:
        return [self.score(item) for item in artifacts]

    def save(self, folder: Path, card: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        model_path = folder / DISSATISFACTION.model_file
        import_skops_io().dump({name: self.estimators[name] for name in ESTIMATORS}, model_path)
        write_folded(model_path, {name: FoldedLogistic.of(self.estimators[name]) for name in ESTIMATORS})
        metadata = json.dumps(asdict(self.metadata), indent=2) + "\n"
        (folder / DISSATISFACTION.metadata_file).write_text(metadata, encoding="utf-8")
        (folder / DISSATISFACTION.card_file).write_text(card, encoding="utf-8")

    @classmethod
    def load(cls, folder: Path | None = None) -> DissatisfactionScorer:
        """Load a folder made by ``train_dissatisfaction`` (None: the shipped one); refuses files holding types
        outside TRUSTED_TYPES."""
        folder = folder if folder is not None else DISSATISFACTION.folder()
        try:
            opened = DISSATISFACTION.open(folder, TRUSTED_TYPES, names=ESTIMATORS)
        except ModelFileError as error:
            raise DissatisfactionModelError(str(error)) from error
        if any(model is None for model in opened.folded.values()):  # not all fold: score with the estimators
            return cls(cls._checked(opened.estimator, folder), DissatisfactionMetadata(**opened.metadata))
        return cls(None, DissatisfactionMetadata(**opened.metadata), folder=opened)


def apology_turns(artifacts: ConversationArtifacts) -> list[int]:
    """Input indices of agent turns that apologise."""
    return [t.turn.index for t in artifacts.by_role(Role.AGENT) if agent_apology(t.normalised)]


def turn_signals(curve: Sequence[tuple[int, float]], hits: Sequence[SignalHit]) -> list[TurnSignal]:
    """Every customer turn (its score and signals) plus each agent or event turn where an agent-side risk fired.

    An agent or event turn carries the score of the latest customer turn before it (the curve's level then).
    """
    by_turn: dict[int, list[str]] = {}
    said: dict[int, dict[str, str]] = {}
    for hit in hits:
        names = by_turn.setdefault(hit.turn_index, [])
        if hit.signal not in names:
            names.append(hit.signal)
            said.setdefault(hit.turn_index, {})[hit.signal] = hit.evidence
    scores = dict(curve)
    entries = [
        TurnSignal(turn_index=i, score=round(s, 4), signals=by_turn.get(i, []), evidence=said.get(i) or None)
        for i, s in curve
    ]
    ordered = sorted(curve)
    indices = [i for i, _ in ordered]
    for index, names in by_turn.items():
        if index in scores or not any(name in AGENT_SIDE_SIGNALS for name in names):
            continue
        before = bisect_left(indices, index)  # the latest customer turn before it
        level = ordered[before - 1][1] if before else 0.0
        entries.append(TurnSignal(turn_index=index, score=round(level, 4), signals=names, evidence=said.get(index)))
    for entry in entries:
        entry.signals.sort(key=SIGNALS.index)
        if entry.evidence:
            entry.evidence = {name: entry.evidence[name] for name in entry.signals if name in entry.evidence}
    return sorted(entries, key=lambda entry: entry.turn_index)
