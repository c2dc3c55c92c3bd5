"""Features of every (turn, step) pair of a conversation: what any step scorer, fitted or trained, looks at.

Every feature is relative to the SOP at hand (similarity to this step's texts, margin over its other steps,
its place in the SOP), never the identity of a step, so a scorer fitted on some SOPs applies to new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auditor.conversation import Role
from auditor.detection.sop_index import SopIndex, StepPrototypes
from auditor.embeddings.base import Embedder
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts

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


SECOND_FEATURE_NAMES = (
    "e5_description",  # a second encoder's (multilingual-e5-small) best cosine of the turn's units to the description
    "e5_examples",  # ... to the step's examples (0 without)
    "e5_description_z",  # e5_description z-scored across the SOP's steps for this turn (its cosines sit in a band)
    "e5_examples_z",  # e5_examples z-scored across the steps with examples (0 without)
    "e5_combined_z",  # the larger of the two z-scores
    "e5_margin",  # e5_combined_z minus the best other step's
    "e5_rank",  # the step's rank by e5_combined_z for this turn, capped at 3, scaled to 0..1
)
"""Columns a scorer trained with a second encoder reads after ``FEATURE_NAMES`` (``second_encoder_columns``)."""


@dataclass
class PairContext:
    """What a second encoder needs to add its columns: every unit's text and turn, and the SOP."""

    unit_texts: list[str]
    unit_turn: np.ndarray
    index: SopIndex


@dataclass
class PairFeatures:
    """One row per (turn, step) pair whose turn speaker fits the step; ``unit_rows`` is the unit each row used."""

    turn_indices: np.ndarray
    step_columns: np.ndarray
    unit_rows: np.ndarray
    matrix: np.ndarray
    context: PairContext | None = None
    """The texts behind the rows (``pair_features`` and the live builder fill it), for a second encoder."""

    def column(self, name: str) -> np.ndarray:
        return self.matrix[:, FEATURE_NAMES.index(name)]


SIMILARITIES = ("combined", "examples", "description", "example_top2")


@dataclass
class Similarities:
    """Similarities of texts to steps: units x steps for a whole SOP, or one step's column (``step_similarities``)."""

    combined: np.ndarray
    examples: np.ndarray
    description: np.ndarray
    example_top2: np.ndarray


def cosines(vectors: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``vectors @ others.T`` accumulated in float64 and rounded to float32: a row's values do not depend on which
    other rows are in the same call (float32 BLAS sums in an order that does), so the similarities of a turn
    embedded alone, as a live session does, are those of the same turn in a whole conversation."""
    wide = np.asarray(vectors, dtype=np.float64) @ np.asarray(others, dtype=np.float64).T
    return wide.astype(np.float32)


def step_similarities(vectors: np.ndarray, prototypes: StepPrototypes, description_offset: float) -> Similarities:
    """Each row's similarities to one step (1-D columns): to its examples (0 without), to its name/description (-1
    without), the mean of the two best example cosines, and ``combined``, the best of examples and description +
    ``description_offset`` (-1 with neither): what the scorer and the act check call a text's similarity to a step.
    Each row is computed on its own (``cosines``)."""
    rows = len(vectors)
    examples = np.zeros(rows, dtype=np.float32)
    description = np.full(rows, -1.0, dtype=np.float32)
    combined = np.full(rows, -1.0, dtype=np.float32)
    if len(prototypes.description_vectors):
        description[:] = cosines(vectors, prototypes.description_vectors).max(axis=1)
        combined[:] = description + description_offset
    if len(prototypes.example_vectors):
        similar = cosines(vectors, prototypes.example_vectors)
        examples[:] = similar.max(axis=1)
        top2 = (-np.sort(-similar, axis=1)[:, :2]).mean(axis=1).astype(np.float32)
        combined[:] = np.maximum(combined, examples)
    else:
        top2 = combined.copy()
    return Similarities(combined, examples, description, top2)


def unit_similarities(unit_vectors: np.ndarray, index: SopIndex, description_offset: float) -> Similarities:
    """Units x steps similarities; each unit's row depends on that unit alone."""
    wide = np.asarray(unit_vectors, dtype=np.float64)
    columns = [step_similarities(wide, prototypes, description_offset) for prototypes in index.steps]
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


def turn_best(combined: np.ndarray, rows: np.ndarray, step_count: int) -> tuple[np.ndarray, np.ndarray]:
    """One turn's best unit row per step and its similarity (``rows``: the turn's unit rows; -inf without units)."""
    if not len(rows):
        return np.zeros(step_count, dtype=np.int64), np.full(step_count, -np.inf)
    return rows[np.argmax(combined[rows], axis=0)], combined[rows].max(axis=0).astype(np.float64)


ROLE_CODES = {role: code for code, role in enumerate(Role)}


def _room(buffer: np.ndarray, count: int, more: int = 1) -> np.ndarray:
    """``buffer`` with room for ``more`` rows after its first ``count``: the same one, or twice as large."""
    if count + more <= len(buffer):
        return buffer
    grown = np.zeros((max(16, 2 * (count + more)), *buffer.shape[1:]), dtype=buffer.dtype)
    grown[:count] = buffer[:count]
    return grown


class SpokenTurns:
    """What the pair features need of each spoken turn, one row per turn in order (a live session appends; the
    arrays grow by doubling, so adding a turn copies nothing on average)."""

    def __init__(self, step_count: int):
        self.step_count = step_count
        self.count = 0
        self._indices = np.zeros(0, dtype=np.int64)
        self._roles = np.zeros(0, dtype=np.int64)
        self._ordinals = np.zeros(0, dtype=np.float64)
        self._lengths = np.zeros(0, dtype=np.float64)
        self._has_units = np.zeros(0, dtype=bool)
        self._best_unit = np.zeros((0, step_count), dtype=np.int64)
        self._best = np.zeros((0, step_count), dtype=np.float64)

    def __len__(self) -> int:
        return self.count

    def __getattr__(self, name: str) -> np.ndarray:
        """``turn_indices``, ``roles`` (codes of ``ROLE_CODES``), ``ordinals``, ``lengths``, ``has_units``: one entry
        per turn; ``best_unit`` and ``best``: turns x steps, the turn's unit most similar to the step and how similar
        (-inf for a turn without units)."""
        names = {"turn_indices": "_indices", "roles": "_roles", "ordinals": "_ordinals", "lengths": "_lengths"}
        names |= {"has_units": "_has_units", "best_unit": "_best_unit", "best": "_best"}
        if name not in names:
            raise AttributeError(name)
        return self.__dict__[names[name]][: self.count]

    def add(self, turn: TurnArtifacts, rows: np.ndarray, combined: np.ndarray) -> None:
        unit, best = turn_best(combined, rows, self.step_count)
        count = self.count
        values = {
            "_indices": turn.turn.index,
            "_roles": ROLE_CODES[turn.turn.role],
            "_ordinals": turn.spoken_ordinal,
            "_lengths": len(turn.normalised),
            "_has_units": len(rows) > 0,
            "_best_unit": unit,
            "_best": best,
        }
        for name, value in values.items():
            buffer = _room(self.__dict__[name], count)
            buffer[count] = value
            self.__dict__[name] = buffer
        self.count += 1


def pair_features(artifacts: ConversationArtifacts, index: SopIndex, description_offset: float) -> PairFeatures:
    """Feature rows for every spoken turn x SOP step whose speaker matches; the best unit of the turn per step.

    Rows are ordered by step, then turn. Vectorised over turns and steps; a live session keeps the per-unit and
    per-turn parts as turns arrive (``PairFeatureBuilder``) and assembles the same rows.
    """
    sims = unit_similarities(artifacts.unit_vectors, index, description_offset)
    step_count = len(index.steps)
    spoken = SpokenTurns(step_count)
    rows_of: dict[int, list[int]] = {}
    for row, turn_index in enumerate(artifacts.unit_turn.tolist()):
        rows_of.setdefault(int(turn_index), []).append(row)
    for turn in artifacts.turns:
        rows = np.asarray(rows_of.get(turn.turn.index, []), dtype=np.int64)
        spoken.add(turn, rows, sims.combined)
    features = assemble_pair_features(sims, margins(sims.combined), spoken, index)
    texts = [unit for turn in artifacts.turns for unit in turn.units]
    if len(texts) == len(artifacts.unit_turn):
        features.context = PairContext(texts, artifacts.unit_turn, index)
    return features


def assemble_pair_features(
    sims: Similarities, unit_margin: np.ndarray, spoken: SpokenTurns, index: SopIndex
) -> PairFeatures:
    """The pair feature rows from the per-unit similarities and margins and the per-turn bests."""
    step_count, count = len(index.steps), len(spoken)
    if not count:
        return PairFeatures(
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(FEATURE_NAMES)))
        )
    best_unit = spoken.best_unit
    turn_best_sim = spoken.best
    turn_ranks = np.argsort(np.argsort(-turn_best_sim, axis=1), axis=1)
    roles = np.asarray([ROLE_CODES[Role(p.step.speaker)] for p in index.steps], dtype=np.int64)
    eligible = (spoken.roles[:, None] == roles[None, :]) & spoken.has_units[:, None]
    best_turn = np.argmax(np.where(eligible, turn_best_sim, -np.inf), axis=0)
    columns, positions = np.nonzero(eligible.T)  # by step, then turn
    units = best_unit[positions, columns]
    ranks = turn_ranks[positions, columns]
    ordinals, lengths = spoken.ordinals, spoken.lengths
    turn_place = (ordinals[positions] - 0.5) / max(count, 1)
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
    return PairFeatures(spoken.turn_indices[positions], columns.astype(np.int64), units.astype(np.int64), matrix)


class PairFeatureBuilder:
    """The pair features of a conversation that grows a turn at a time (a live session): each unit's similarities
    and each turn's bests are computed once, when the turn arrives; ``features()`` assembles the rows of the whole
    conversation so far, the same as ``pair_features`` on it (the turn's place in the call and which turn is a
    step's best change as the call grows)."""

    def __init__(self, index: SopIndex, description_offset: float):
        self.index = index
        self.description_offset = description_offset
        step_count = len(index.steps)
        self.units = 0
        self._sims = {name: np.zeros((0, step_count), dtype=np.float32) for name in (*SIMILARITIES, "margin")}
        self.spoken = SpokenTurns(step_count)
        self.unit_texts: list[str] = []
        self.unit_turn: list[int] = []

    def add(self, turn: TurnArtifacts, vectors: np.ndarray) -> None:
        """The next spoken turn and the vectors of its units."""
        new = unit_similarities(vectors, self.index, self.description_offset)
        first, count = self.units, len(vectors)
        values = {name: getattr(new, name) for name in SIMILARITIES} | {"margin": margins(new.combined)}
        for name, value in values.items():
            self._sims[name] = buffer = _room(self._sims[name], first, count)
            buffer[first : first + count] = value
        self.units += count
        self.unit_texts += list(turn.units[:count])
        self.unit_turn += [turn.turn.index] * count
        rows = np.arange(first, first + count, dtype=np.int64)
        self.spoken.add(turn, rows, self._sims["combined"])

    def features(self) -> PairFeatures:
        sims = Similarities(*(self._sims[name][: self.units] for name in SIMILARITIES))
        features = assemble_pair_features(sims, self._sims["margin"][: self.units], self.spoken, self.index)
        if len(self.unit_texts) == self.units:
            features.context = PairContext(self.unit_texts, np.asarray(self.unit_turn, dtype=np.int64), self.index)
        return features


def _z_scored(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Each row z-scored over its ``present`` columns (0 elsewhere, and where a row has fewer than two)."""
    counts = present.sum(axis=1, keepdims=True)
    safe = np.where(present, values, 0.0)
    mean = safe.sum(axis=1, keepdims=True) / np.maximum(counts, 1)
    spread = np.sqrt((np.where(present, values - mean, 0.0) ** 2).sum(axis=1, keepdims=True) / np.maximum(counts, 1))
    scored = (values - mean) / np.maximum(spread, 1e-3)
    return np.where(present & (counts > 1), scored, 0.0)


def step_text_vectors(index: SopIndex, encoder: Embedder) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each step's description and example vectors with ``encoder`` (cached by text by the encoder)."""
    descriptions = [p.description_texts for p in index.steps]
    examples = [p.example_texts for p in index.steps]
    flat = [text for texts in descriptions + examples for text in texts]
    vectors = encoder.encode(flat) if flat else np.zeros((0, encoder.dimension), dtype=np.float32)
    out: list[np.ndarray] = []
    offset = 0
    for texts in descriptions + examples:
        out.append(vectors[offset : offset + len(texts)])
        offset += len(texts)
    return out[: len(index.steps)], out[len(index.steps) :]


def second_encoder_columns(features: PairFeatures, encoder: Embedder) -> np.ndarray:
    """The ``SECOND_FEATURE_NAMES`` columns of every row: ``encoder``'s similarities of the row's turn (its best
    unit per step) to the step's description and examples, raw and relative to the SOP's other steps.

    Only the units of turns that have rows are embedded (a conversation's customer turns are left out when the SOP
    has no customer step)."""
    width = len(SECOND_FEATURE_NAMES)
    if not len(features.matrix):
        return np.zeros((0, width))
    if features.context is None:
        raise ValueError("these pair features carry no texts; a second encoder cannot score them")
    context = features.context
    turns = np.unique(features.turn_indices)
    units = np.flatnonzero(np.isin(context.unit_turn, turns))
    vectors = encoder.encode([context.unit_texts[u] for u in units.tolist()])
    descriptions, examples = step_text_vectors(context.index, encoder)
    steps = len(descriptions)
    description = np.full((len(units), steps), -1.0)
    example = np.zeros((len(units), steps))
    for column in range(steps):
        if len(descriptions[column]):
            description[:, column] = cosines(vectors, descriptions[column]).max(axis=1)
        if len(examples[column]):
            example[:, column] = cosines(vectors, examples[column]).max(axis=1)
    has_examples = np.asarray([len(vectors_) > 0 for vectors_ in examples], dtype=bool)
    has_description = np.asarray([len(vectors_) > 0 for vectors_ in descriptions], dtype=bool)
    unit_turns = context.unit_turn[units]
    position = {int(turn): row for row, turn in enumerate(turns.tolist())}
    turn_description = np.full((len(turns), steps), -1.0)
    turn_example = np.zeros((len(turns), steps))
    for row, turn in enumerate(unit_turns.tolist()):
        place = position[int(turn)]
        turn_description[place] = np.maximum(turn_description[place], description[row])
        turn_example[place] = np.maximum(turn_example[place], example[row])
    description_z = _z_scored(turn_description, np.broadcast_to(has_description, turn_description.shape))
    example_z = _z_scored(turn_example, np.broadcast_to(has_examples, turn_example.shape))
    combined = np.where(has_examples[None, :], np.maximum(description_z, example_z), description_z)
    margin = margins(combined)
    ranks = np.argsort(np.argsort(-combined, axis=1), axis=1)
    at = np.asarray([position[int(turn)] for turn in features.turn_indices.tolist()], dtype=np.int64)
    columns = features.step_columns
    return np.column_stack(
        [
            turn_description[at, columns],
            turn_example[at, columns],
            description_z[at, columns],
            example_z[at, columns],
            combined[at, columns],
            margin[at, columns],
            np.minimum(ranks[at, columns], 3) / 3,
        ]
    ).astype(np.float64)
