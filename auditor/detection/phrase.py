"""Phrase step detector: exact keywords from the SOP, matched on spaCy tokens (jieba for Chinese, after t2s)."""

from __future__ import annotations

from typing import Any

from auditor.detection.hits import StepHit
from auditor.detection.sop_index import SopIndex
from auditor.text.artifacts import ConversationArtifacts
from auditor.text.normalise import detect_lang, normalise_text
from auditor.text.pipelines import TextPipelines
from auditor.transcripts.roles import Role


class PhraseDetector:
    """A keyword the SOP lists, said by the step's speaker, is strong evidence of the step."""

    name = "phrase"
    version = "1"

    def __init__(self, pipelines: TextPipelines, confidence: float = 0.95):
        self.pipelines = pipelines
        self.confidence = confidence

    def _matcher(self, index: SopIndex, lang: str) -> Any:
        if lang not in index.phrase_matchers:
            from spacy.matcher import PhraseMatcher

            nlp = self.pipelines.for_lang(lang)
            matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
            for prototypes in index.steps:
                patterns = [
                    nlp.make_doc(normalised)
                    for keyword in prototypes.step.keywords
                    if detect_lang(normalised := normalise_text(keyword)) == lang
                ]
                if patterns:
                    matcher.add(prototypes.step.id, patterns)
            index.phrase_matchers[lang] = matcher
        return index.phrase_matchers[lang]

    def detect(self, artifacts: ConversationArtifacts, index: SopIndex) -> list[StepHit]:
        speakers = {prototypes.step.id: Role(prototypes.step.speaker) for prototypes in index.steps}
        hits: list[StepHit] = []
        for turn_artifacts in artifacts.turns:
            matcher = self._matcher(index, turn_artifacts.lang)
            found: set[str] = set()
            for match_id, _start, _end in matcher(turn_artifacts.doc):
                step_id = self.pipelines.for_lang(turn_artifacts.lang).vocab.strings[match_id]
                if step_id in found or speakers.get(step_id) is not turn_artifacts.turn.role:
                    continue
                found.add(step_id)
                hits.append(
                    StepHit(
                        step_id, turn_artifacts.turn.index, turn_artifacts.turn.text, 1.0, self.confidence, self.name
                    )
                )
        return hits
