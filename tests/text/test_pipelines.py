"""spaCy pipelines stay bounded on a long audit: a vocabulary grown too large is rebuilt, and results do not change."""

from __future__ import annotations

from auditor.auditor import Auditor
from auditor.sop.loading import resolve_sop
from auditor.text.pipelines import TextPipelines
from auditor.transcripts.loaders import load_inputs
from tests.batch.helpers import CORPORA


def test_a_vocabulary_past_its_bound_is_rebuilt_and_old_docs_still_read():
    pipelines = TextPipelines(max_strings=2_000)
    nlp = pipelines.for_lang("en")
    old = nlp("My order number is 10000000.")
    for number in range(3_000):  # every number is a new string, as order numbers and names are in real calls
        nlp(f"My order number is {10**7 + number}.")
    assert len(nlp.vocab.strings) > 2_000
    pipelines.refresh()
    fresh = pipelines.for_lang("en")
    assert fresh is not nlp and len(fresh.vocab.strings) < 2_000
    assert [token.text for token in old] == ["My", "order", "number", "is", "10000000", "."]
    pipelines.refresh()
    assert pipelines.for_lang("en") is fresh, "a pipeline within its bound is kept (its tokenizer cache is warm)"


def test_audits_are_the_same_when_pipelines_are_rebuilt_after_every_turn(hashing_embedder):
    """Keyword matching (PhraseMatcher) and sentence splitting give the same verdicts whichever vocabulary a turn
    was read with: rebuilding, even in the middle of a conversation, changes no result."""
    conversations = load_inputs([CORPORA]).conversations
    by_sop: dict[str, list] = {}
    phrase_hits = 0
    for conversation in conversations:
        by_sop.setdefault(str(conversation.metadata.get("sop_id", "general-inbound-call")), []).append(conversation)
    for sop_id, everything in by_sop.items():
        group = everything[::3]  # every language and scenario of the SOP, fewer of each: rebuilding costs time
        sop = resolve_sop(sop_id)
        steady = Auditor(sop, hashing_embedder, pipelines=TextPipelines())
        churning = TextPipelines(max_strings=1)  # past its bound after every text: rebuilt before the next one
        rebuilt = Auditor(sop, hashing_embedder, pipelines=churning)
        expected = [result.model_dump() for result in steady.audit_many(group)]
        assert [result.model_dump() for result in rebuilt.audit_many(group)] == expected, sop_id
        phrase_hits += sum("phrase" in e["method"] for r in expected for step in r["steps"] for e in step["evidence"])
    assert phrase_hits > 0, "the corpora should exercise keyword matching"
