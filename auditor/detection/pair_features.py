"""Features of every (turn, step) pair of a conversation: what any step scorer, fitted or trained, looks at.

Every feature is relative to the SOP at hand (similarity to this step's texts, margin over its other steps,
its place in the SOP), never the identity of a step, so a scorer fitted on some SOPs applies to new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auditor.detection.sop_index import SopIndex
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
class _UnitSimilarities:
    combined: np.ndarray  # units x steps
    examples: np.ndarray
    description: np.ndarray
    example_top2: np.ndarray


def _unit_similarities(unit_vectors: np.ndarray, index: SopIndex, description_offset: float) -> _UnitSimilarities:
    units, steps = len(unit_vectors), len(index.steps)
    examples = np.zeros((units, steps), dtype=np.float32)
    top2 = np.zeros((units, steps), dtype=np.float32)
    description = np.full((units, steps), -1.0, dtype=np.float32)
    combined = np.full((units, steps), -1.0, dtype=np.float32)
    for column, prototypes in enumerate(index.steps):
        if len(prototypes.description_vectors):
            description[:, column] = (unit_vectors @ prototypes.description_vectors.T).max(axis=1)
            combined[:, column] = description[:, column] + description_offset
        if len(prototypes.example_vectors):
            cosines = unit_vectors @ prototypes.example_vectors.T
            examples[:, column] = cosines.max(axis=1)
            best_two = -np.sort(-cosines, axis=1)[:, :2]
            top2[:, column] = best_two.mean(axis=1)
            combined[:, column] = np.maximum(combined[:, column], examples[:, column])
        else:
            top2[:, column] = combined[:, column]
    return _UnitSimilarities(combined, examples, description, top2)


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
