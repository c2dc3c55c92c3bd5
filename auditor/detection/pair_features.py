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
    """Feature rows for every spoken turn x SOP step whose speaker matches; the best unit of the turn per step."""
    sims = _unit_similarities(artifacts.unit_vectors, index, description_offset)
    unit_margin = margins(sims.combined)
    step_count = len(index.steps)
    spoken = len(artifacts.turns)
    turn_rows = {t.turn.index: np.flatnonzero(artifacts.unit_turn == t.turn.index) for t in artifacts.turns}
    turn_best = {index_: sims.combined[rows].max(axis=0) for index_, rows in turn_rows.items() if len(rows)}
    turn_ranks = {index_: np.argsort(np.argsort(-best)) for index_, best in turn_best.items()}
    rows_out: list[list[float]] = []
    turns_out, columns_out, units_out = [], [], []
    for column, prototypes in enumerate(index.steps):
        role = Role(prototypes.step.speaker)
        eligible = [t for t in artifacts.turns if t.turn.role is role and len(turn_rows[t.turn.index])]
        if not eligible:
            continue
        best_turn = max(eligible, key=lambda t: turn_best[t.turn.index][column]).turn.index
        step_place = (column + 0.5) / step_count
        for turn_artifacts in eligible:
            turn_index = turn_artifacts.turn.index
            rows = turn_rows[turn_index]
            unit = int(rows[np.argmax(sims.combined[rows, column])])
            rank = int(turn_ranks[turn_index][column])
            turn_place = (turn_artifacts.spoken_ordinal - 0.5) / spoken
            rows_out.append(
                [
                    float(sims.combined[unit, column]),
                    float(unit_margin[unit, column]),
                    abs(turn_place - step_place),
                    float(len(prototypes.example_vectors) > 0),
                    float(sims.examples[unit, column]),
                    float(sims.description[unit, column]),
                    float(sims.example_top2[unit, column]),
                    min(rank, 3) / 3,
                    float(rank == 0 and best_turn == turn_index),
                    turn_place,
                    step_place,
                    float(np.log1p(len(turn_artifacts.normalised)) / 6),
                ]
            )
            turns_out.append(turn_index)
            columns_out.append(column)
            units_out.append(unit)
    matrix = np.asarray(rows_out, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))
    return PairFeatures(
        np.asarray(turns_out, dtype=np.int64),
        np.asarray(columns_out, dtype=np.int64),
        np.asarray(units_out, dtype=np.int64),
        matrix,
    )
