"""Phrase step detector: exact keywords from the SOP, matched on spaCy tokens (jieba for Chinese, after t2s)."""

from __future__ import annotations

from typing import Any

from auditor.conversation import Role
from auditor.detection.hits import StepHit
from auditor.detection.sop_index import SopIndex
from auditor.text.artifacts import ConversationArtifacts, TurnArtifacts
from auditor.text.normalise import detect_lang, has_han, has_latin, normalise_text, space_scripts
from auditor.text.pipelines import TextPipelines


class PhraseDetector:
    """A keyword the SOP lists, said by the step's speaker, is strong evidence of the step."""

    name = "phrase"
    version = "1"

    def __init__(self, pipelines: TextPipelines, confidence: float = 0.95):
        self.pipelines = pipelines
        self.confidence = confidence

    def _matcher(self, index: SopIndex, lang: str) -> Any:
        nlp = self.pipelines.for_lang(lang)  # first: it imports spaCy without torch (text/pipelines.py)
        matcher = index.phrase_matchers.get(lang)
        if matcher is None or matcher.vocab is not nlp.vocab:  # none yet, or made for a pipeline since refreshed
            from spacy.matcher import PhraseMatcher

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
        return [hit for turn_artifacts in artifacts.turns for hit in self.detect_turn(turn_artifacts, index)]

    def detect_turn(self, turn_artifacts: TurnArtifacts, index: SopIndex) -> list[StepHit]:
        """The hits of one spoken turn (a keyword depends on the turn alone: a live session detects each turn once)."""
        speakers = {prototypes.step.id: Role(prototypes.step.speaker) for prototypes in index.steps}
        hits: list[StepHit] = []
        found: set[str] = set()
        for step_id in self._matched_steps(turn_artifacts, index):
            if step_id in found or speakers.get(step_id) is not turn_artifacts.turn.role:
                continue
            found.add(step_id)
            turn = turn_artifacts.turn
            hits.append(StepHit(step_id, turn.index, turn.text, 1.0, self.confidence, self.name))
        return hits

    def _matched_steps(self, turn_artifacts: TurnArtifacts, index: SopIndex) -> list[str]:
        """Step ids whose keywords occur in the turn; mixed-script turns are matched in both languages."""
        docs = [(turn_artifacts.lang, turn_artifacts.doc)]
        other = "en" if turn_artifacts.lang == "zh" else "zh"
        text = turn_artifacts.normalised
        if (other == "en" and has_latin(text)) or (other == "zh" and has_han(text)):
            docs.append((other, self.pipelines.for_lang(other)(space_scripts(text))))
        step_ids = []
        for lang, doc in docs:
            strings = self.pipelines.for_lang(lang).vocab.strings
            step_ids += [strings[match_id] for match_id, _start, _end in self._matcher(index, lang)(doc)]
        return step_ids
