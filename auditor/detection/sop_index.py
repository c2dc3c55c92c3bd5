"""An SOP prepared for matching: every step's texts normalised and embedded once, keywords compiled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auditor.embeddings.base import Embedder
from auditor.sop_format import Sop, Step
from auditor.text.normalise import normalise_text


@dataclass
class StepPrototypes:
    """Embedded texts of one step: its examples (may be empty) and its name + description."""

    step: Step
    example_texts: list[str]
    example_vectors: np.ndarray
    description_texts: list[str]
    description_vectors: np.ndarray
    counter_texts: list[str] = field(default_factory=list)
    counter_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    """The step's counter-examples: phrasings that sound like it and are not it."""


@dataclass
class SopIndex:
    sop: Sop
    steps: list[StepPrototypes]
    embedder_name: str
    phrase_matchers: dict[str, Any] = field(default_factory=dict)
    """Compiled keyword matchers by language, filled lazily by the phrase detector."""

    @property
    def step_ids(self) -> list[str]:
        return [prototypes.step.id for prototypes in self.steps]


def description_texts(step: Step) -> list[str]:
    """Zero-shot texts for a step: its description and its name (each alone; an empty one is dropped)."""
    return [text for text in (step.description, step.name) if text.strip()]


def build_sop_index(sop: Sop, embedder: Embedder) -> SopIndex:
    """Embed all step texts of an SOP in one batch."""
    per_step = [
        (
            [normalise_text(text) for text in step.examples],
            [normalise_text(text) for text in description_texts(step)],
            [normalise_text(text) for text in step.counter_examples],
        )
        for step in sop.steps
    ]
    flat = [text for examples, descriptions, counters in per_step for text in examples + descriptions + counters]
    vectors = embedder.encode(flat)
    steps: list[StepPrototypes] = []
    offset = 0
    for step, (examples, descriptions, counters) in zip(sop.steps, per_step, strict=True):
        example_vectors = vectors[offset : offset + len(examples)]
        offset += len(examples)
        description_vectors = vectors[offset : offset + len(descriptions)]
        offset += len(descriptions)
        counter_vectors = vectors[offset : offset + len(counters)]
        offset += len(counters)
        prototypes = StepPrototypes(step, examples, example_vectors, descriptions, description_vectors)
        prototypes.counter_texts, prototypes.counter_vectors = counters, counter_vectors
        steps.append(prototypes)
    return SopIndex(sop, steps, embedder.name)
