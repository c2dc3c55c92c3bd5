"""Features of every (turn, step) pair of a conversation: what any step scorer, fitted or trained, looks at.

Every feature is relative to the SOP at hand (similarity to this step's texts, margin over its other steps,
its place in the SOP), never the identity of a step, so a scorer fitted on some SOPs applies to new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auditor.detection.sop_index import SopIndex, StepPrototypes
from auditor.text.artifacts import ConversationArtifacts
from auditor.transcripts.roles import Role

FEATURE_NAMES = (
    "sim",  # best of: cosine to examples, cosine to name/description + offset
    "margin",  # sim minus the best other step's sim, on the same text unit
    "position_gap",  # |turn's relative place in the call - step's relative place in the SOP|
    "has_examples",
    "sim_examples",  # 0 when the step has no examples
    "sim_description",
    "example_top2",  # mean of the two best example cosines (one lucky example counts less)
    "rank",  # the step's rank among the SOP's steps for this turn, 0 best, capped at 3, scaled to 0..1
    "mutual_best",  # this step is the turn's best and this turn is the step's best in the call
    "turn_place",
    "step_place",
    "log_length",
)


@dataclass
class PairFeatures:
    """One row per (turn, step) pair whose turn speaker fits the step; ``unit_rows`` is the unit each row used."""

    turn_indices: np.ndarray
    step_columns: np.ndarray
    unit_rows: np.ndarray
    matrix: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.matrix[:, FEATURE_NAMES.index(name)]


@dataclass
class Similarities:
    """Similarities of texts to steps: units x steps for a whole SOP, or one step's column (``step_similarities``)."""

    combined: np.ndarray
    examples: np.ndarray
    description: np.ndarray
    example_top2: np.ndarray


def step_similarities(vectors: np.ndarray, prototypes: StepPrototypes, description_offset: float) -> Similarities:
    """Each row's similarities to one step (1-D columns): to its examples (0 without), to its name/description (-1
    without), the mean of the two best example cosines, and ``combined``, the best of examples and description +
    ``description_offset`` (-1 with neither): what the scorer and the act check call a text's similarity to a step."""
    rows = len(vectors)
    examples = np.zeros(rows, dtype=np.float32)
    description = np.full(rows, -1.0, dtype=np.float32)
    combined = np.full(rows, -1.0, dtype=np.float32)
    if len(prototypes.description_vectors):
        description[:] = (vectors @ prototypes.description_vectors.T).max(axis=1)
        combined[:] = description + description_offset
    if len(prototypes.example_vectors):
        cosines = vectors @ prototypes.example_vectors.T
        examples[:] = cosines.max(axis=1)
        top2 = (-np.sort(-cosines, axis=1)[:, :2]).mean(axis=1).astype(np.float32)
        combined[:] = np.maximum(combined, examples)
    else:
        top2 = combined.copy()
    return Similarities(combined, examples, description, top2)


def _unit_similarities(unit_vectors: np.ndarray, index: SopIndex, description_offset: float) -> Similarities:
    columns = [step_similarities(unit_vectors, prototypes, description_offset) for prototypes in index.steps]
    units = len(unit_vectors)

    def stacked(name: str) -> np.ndarray:
        if not columns:
            return np.zeros((units, 0), dtype=np.float32)
        return np.column_stack([getattr(column, name) for column in columns]).astype(np.float32)

    return Similarities(stacked("combined"), stacked("examples"), stacked("description"), stacked("example_top2"))


def margins(sim: np.ndarray) -> np.ndarray:
    """Each column's value minus the best other column's value, row by row."""
    if sim.shape[1] < 2:
        return np.zeros_like(sim)
    top_two = -np.sort(-sim, axis=1)[:, :2]
    best_other = np.where(sim >= top_two[:, [0]], top_two[:, [1]], top_two[:, [0]])
    return sim - best_other


def pair_features(artifacts: ConversationArtifacts, index: SopIndex, description_offset: float) -> PairFeatures:
    """Feature rows for every spoken turn x SOP step whose speaker matches; the best unit of the turn per step.

    Rows are ordered by step, then turn. Vectorised over turns and steps: a live session calls this after
    every pushed turn.
    """
    sims = _unit_similarities(artifacts.unit_vectors, index, description_offset)
    unit_margin = margins(sims.combined)
    step_count, spoken = len(index.steps), len(artifacts.turns)
    turn_rows = [np.flatnonzero(artifacts.unit_turn == t.turn.index) for t in artifacts.turns]
    # per turn x step: the turn's best unit for the step, and the turn's best similarity to it
    best_unit = np.zeros((spoken, step_count), dtype=np.int64)
    turn_best = np.full((spoken, step_count), -np.inf)
    for position, rows in enumerate(turn_rows):
        if len(rows):
            best_unit[position] = rows[np.argmax(sims.combined[rows], axis=0)]
            turn_best[position] = sims.combined[rows].max(axis=0)
    turn_ranks = np.argsort(np.argsort(-turn_best, axis=1), axis=1)
    roles = np.asarray([Role(p.step.speaker) for p in index.steps], dtype=object)
    turn_roles = np.asarray([t.turn.role for t in artifacts.turns], dtype=object)
    has_units = np.asarray([len(rows) > 0 for rows in turn_rows], dtype=bool)
    eligible = (
        (turn_roles[:, None] == roles[None, :]) & has_units[:, None] if spoken else np.zeros((0, step_count), bool)
    )
    best_turn = np.argmax(np.where(eligible, turn_best, -np.inf), axis=0) if spoken else np.zeros(step_count, int)
    columns, positions = np.nonzero(eligible.T)  # by step, then turn
    units = best_unit[positions, columns]
    ranks = turn_ranks[positions, columns]
    ordinals = np.asarray([t.spoken_ordinal for t in artifacts.turns], dtype=np.float64)
    lengths = np.asarray([len(t.normalised) for t in artifacts.turns], dtype=np.float64)
    turn_place = (ordinals[positions] - 0.5) / max(spoken, 1)
    step_place = (columns + 0.5) / step_count
    has_examples = np.asarray([len(p.example_vectors) > 0 for p in index.steps], dtype=np.float64)
    matrix = (
        np.column_stack(
            [
                sims.combined[units, columns],
                unit_margin[units, columns],
                np.abs(turn_place - step_place),
                has_examples[columns],
                sims.examples[units, columns],
                sims.description[units, columns],
                sims.example_top2[units, columns],
                np.minimum(ranks, 3) / 3,
                ((ranks == 0) & (best_turn[columns] == positions)).astype(np.float64),
                turn_place,
                step_place,
                np.log1p(lengths[positions]) / 6,
            ]
        )
        .astype(np.float64)
        .reshape(-1, len(FEATURE_NAMES))
    )
    turn_indices = np.asarray([t.turn.index for t in artifacts.turns], dtype=np.int64)
    return PairFeatures(
        turn_indices[positions] if spoken else np.zeros(0, np.int64),
        columns.astype(np.int64),
        units.astype(np.int64),
        matrix,
    )
