"""A live session scores each turn incrementally, and every update is the one a full re-audit of the call so far
gives: verdicts with their order and position rules, the customer's mood, the alerts; closing gives the whole audit."""

from __future__ import annotations

import pytest

from auditor.auditor import Auditor
from auditor.dissatisfaction.model import DissatisfactionScorer
from auditor.embeddings.base import CachedEmbedder
from auditor.embeddings.hashing import HashingEmbedder
from auditor.live.progress import live_steps
from auditor.live.session import LiveSession, _mood
from auditor.model_files import DISSATISFACTION
from auditor.sop.loading import resolve_sop
from auditor.transcripts.loaders import load_inputs
from tests.conftest import REPO
from tests.live.test_live_session import raw_turn

SOPS = ("bank-phone-service", "complaint-handling", "general-inbound-call", "service-request")


@pytest.fixture(scope="module")
def unhappy() -> DissatisfactionScorer:
    """The shipped dissatisfaction model, pointed at the hashing embedder (same width): its scores mean nothing, but
    every signal, feature and model runs as in production."""
    scorer = DissatisfactionScorer.load(DISSATISFACTION.folder())
    scorer.metadata.embedder = HashingEmbedder().name
    return scorer


def hashing_auditor(sop_id: str, pipelines, unhappy) -> Auditor:
    embedder = CachedEmbedder(HashingEmbedder())
    return Auditor(resolve_sop(sop_id), embedder, pipelines=pipelines, dissatisfaction=unhappy)


def corpus(sop_id: str, langs: tuple[str, ...] = ("en", "zh-Hans", "zh-Hant")) -> list:
    conversations = load_inputs([REPO / "corpora" / lang / f"{sop_id}.jsonl" for lang in langs]).conversations
    for conversation in conversations:
        conversation.source = None  # a live session has no file
    return conversations


@pytest.mark.parametrize("sop_id", SOPS)
def test_every_update_is_the_full_re_audit_of_the_call_so_far(sop_id, pipelines, unhappy):
    auditor = hashing_auditor(sop_id, pipelines, unhappy)
    for conversation in corpus(sop_id)[::2]:
        given = {"agent_id": conversation.agent_id, "lang": conversation.lang, "metadata": conversation.metadata}
        fast = LiveSession(auditor, conversation.id, **given)
        full = LiveSession(auditor, conversation.id, **given, _incremental=False)
        for turn in conversation.turns:
            assert fast.push(raw_turn(turn)) == full.push(raw_turn(turn)), (conversation.id, turn.index)
        assert fast.alerts == full.alerts
        assert fast.close() == auditor.audit(conversation), conversation.id


def test_a_long_call_made_of_many_calls_agrees_turn_by_turn(pipelines, unhappy):
    """Several corpus calls back to back as one call of a few hundred turns: late and out-of-order steps, positions
    counted from the end, repeated complaints across the whole call."""
    auditor = hashing_auditor("complaint-handling", pipelines, unhappy)
    turns = [turn for sop_id in SOPS for conversation in corpus(sop_id)[:4] for turn in conversation.turns]
    assert len(turns) >= 200
    fast = LiveSession(auditor, "long", agent_id="a-1")
    full = LiveSession(auditor, "long", agent_id="a-1", _incremental=False)
    statuses = set()
    for turn in turns:
        update = fast.push(raw_turn(turn))
        assert update == full.push(raw_turn(turn)), turn.index
        statuses |= {step.status for step in update.steps}
    assert {"done", "overdue"} <= statuses
    assert fast.close() == full.close()


@pytest.mark.slow
def test_a_thousand_turn_call_with_the_real_models_ends_as_the_whole_audit():
    """The default models (USE-m, the shipped step scorer, act and dissatisfaction models) on a 1,000-turn call made
    of the English and Chinese corpora: the last update is what a full re-audit of the call says, and closing gives
    the batch audit of the same transcript (the embedder's cache holds each turn's vectors, so they are the same)."""
    from auditor.service import load_models
    from auditor.settings import AuditorSettings
    from bench.live_session import generated_call

    auditor = load_models(AuditorSettings(embedder_threads=1)).auditor(resolve_sop("general-inbound-call"))
    session = LiveSession(auditor, "long-call", agent_id="a-1")
    call = generated_call(1000)
    call = call[: max(i for i, turn in enumerate(call) if turn["speaker"] in {"customer", "客户"}) + 1]
    for turn in call:
        update = session.push(turn)
    assert update.turns == len(call) >= 990
    whole = session._artifacts()
    full = auditor.score_artifacts(whole)
    assert update.steps == live_steps(auditor.sop, full, whole, session._latest_start())
    assert update.dissatisfaction == _mood(full, session.turns)
    assert session.close() == auditor.audit(session.conversation())
    assert {step.status for step in update.steps} & {"done", "late", "out_of_order"}
