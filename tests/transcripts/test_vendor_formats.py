"""Vendors' transcript JSON (Amazon Transcribe, Contact Lens, Google CCAI Insights, Azure speech) loads from the
samples in corpora/vendors/, is recognised by content whatever the file's name, and is audited end to end."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.conversation import Conversation, Role
from auditor.transcripts.json_files import conversation_from_record
from auditor.transcripts.loaders import load_bytes, load_file, load_inputs
from auditor.transcripts.vendors import NOT_A_TRANSCRIPT, VENDORS, vendor_of
from auditor.transcripts.vendors.fields import join_words
from tests.conftest import REPO

VENDOR_DIR = REPO / "corpora" / "vendors"
TRANSCRIBE = VENDOR_DIR / "amazon-transcribe-en-lost-card.json"
CONTACT_LENS = VENDOR_DIR / "contact-lens-en-card-dispute.json"
CCAI = VENDOR_DIR / "ccai-insights-zh-hans-card-unfreeze.json"
AZURE = VENDOR_DIR / "azure-speech-zh-hant-fee-waiver.json"
SAMPLES = {
    TRANSCRIBE: "amazon-transcribe",
    CONTACT_LENS: "amazon-contact-lens",
    CCAI: "google-ccai-insights",
    AZURE: "azure-speech",
}


def document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def convert(obj: dict[str, Any], default_id: str = "stem") -> Conversation:
    return conversation_from_record(obj, source="call.json", default_id=default_id)


def only(path: Path) -> Conversation:
    loaded = load_file(path)
    assert loaded.problems == [], loaded.problems
    assert len(loaded.conversations) == 1
    return loaded.conversations[0]


def alternating(conversation: Conversation, first: Role = Role.AGENT) -> bool:
    roles = [turn.role for turn in conversation.turns]
    other = Role.CUSTOMER if first is Role.AGENT else Role.AGENT
    return roles == [first if index % 2 == 0 else other for index in range(len(roles))]


def test_every_sample_is_recognised_as_its_vendor() -> None:
    for path, format_name in SAMPLES.items():
        vendor = vendor_of(document(path))
        assert vendor is not None and vendor.format == format_name, path
    assert len({vendor.format for vendor in VENDORS}) == len(SAMPLES)


def test_amazon_transcribe_audio_segments_become_turns() -> None:
    conversation = only(TRANSCRIBE)
    assert conversation.id == "en-lost-card-20261102-0915"  # the job name
    assert conversation.metadata["transcript_format"] == "amazon-transcribe"
    assert len(conversation.turns) == 15
    first = conversation.turns[0]
    assert first.speaker == "spk_0" and first.start == 0.5 and first.end == 6.26
    assert first.text.startswith("Good afternoon, you're through to Harbourside Bank cards, my name is Marco.")
    assert {turn.speaker for turn in conversation.turns} == {"spk_0", "spk_1"}, "the vendor's labels are kept"


def test_amazon_transcribe_items_give_the_same_turns_with_or_without_labels_on_items() -> None:
    with_segments = convert(document(TRANSCRIBE))
    raw = document(TRANSCRIBE)
    del raw["results"]["audio_segments"]
    from_items = convert(raw)
    for item in raw["results"]["items"]:
        item.pop("speaker_label", None)  # older output: speakers only under speaker_labels.segments
    from_segments_items = convert(raw)
    assert [t.text for t in from_items.turns] == [t.text for t in with_segments.turns]
    assert [t.speaker for t in from_items.turns] == [t.speaker for t in with_segments.turns]
    assert [t.text for t in from_segments_items.turns] == [t.text for t in from_items.turns]
    assert [t.speaker for t in from_segments_items.turns] == [t.speaker for t in from_items.turns]
    assert all(t.start == s.start and abs((t.end or 0) - (s.end or 0)) < 0.1 for t, s in
               zip(from_items.turns, with_segments.turns, strict=True))
    assert 0.99 <= from_items.turns[0].extra["confidence"] <= 1.0


def transcribe_items(*words: tuple[str, str, float | None]) -> dict[str, Any]:
    """A Transcribe result from (speaker or channel, content, start); a start of None is a punctuation item."""
    items = []
    for speaker, content, start in words:
        if start is None:
            items.append({"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": content}]})
        else:
            label = "channel_label" if speaker.startswith("ch_") else "speaker_label"
            items.append({"type": "pronunciation", "start_time": str(start), "end_time": str(start + 0.4),
                          label: speaker, "alternatives": [{"confidence": "0.9", "content": content}]})
    return {"jobName": "zh-job", "results": {"transcripts": [{"transcript": ""}], "items": items}}


def test_amazon_transcribe_chinese_words_join_without_spaces_and_punctuation_joins_its_word() -> None:
    conversation = convert(transcribe_items(
        ("ch_0", "您好", 0.0), ("ch_0", "，", None), ("ch_0", "华信", 0.5), ("ch_0", "银行", 0.9),
        ("ch_0", "。", None), ("ch_1", "我的", 2.0), ("ch_1", "Visa", 2.4), ("ch_1", "卡", 2.8), ("ch_1", "丢了", 3.2),
        ("ch_0", "Hello", 4.0), ("ch_0", ",", None), ("ch_0", "how", 4.4), ("ch_0", "are", 4.8), ("ch_0", "you", 5.2),
        ("ch_0", "?", None),
    ))
    assert [(t.speaker, t.text) for t in conversation.turns] == [
        ("ch_0", "您好，华信银行。"), ("ch_1", "我的Visa卡丢了"), ("ch_0", "Hello, how are you?"),
    ]
    assert (conversation.turns[1].start, conversation.turns[1].end) == (2.0, 3.6)
    assert join_words(["card", "ending", "4409."]) == "card ending 4409."


def test_amazon_transcribe_channel_identification_merges_the_channels_by_time() -> None:
    left = transcribe_items(("ch_0", "Hello", 0.0), ("ch_0", "there", 0.4), ("ch_0", "thanks", 3.0))["results"]["items"]
    right = transcribe_items(("ch_1", "Hi", 1.5), ("ch_1", "!", None))["results"]["items"]
    raw = {"jobName": "stereo", "results": {"transcripts": [], "items": [], "channel_labels": {
        "number_of_channels": 2,
        "channels": [{"channel_label": "ch_0", "items": left}, {"channel_label": "ch_1", "items": right}]}}}
    conversation = convert(raw)
    assert [(t.speaker, t.text) for t in conversation.turns] == [("ch_0", "Hello there"), ("ch_1", "Hi!"),
                                                                 ("ch_0", "thanks")]


def test_contact_lens_roles_offsets_and_sentiment() -> None:
    conversation = only(CONTACT_LENS)
    assert conversation.id == "0b4f7c2e-5a1d-4e8b-9c3f-2d6a7e8f9012"  # CustomerMetadata.ContactId
    assert conversation.lang == "en"
    assert alternating(conversation)
    assert [turn.speaker for turn in conversation.turns[:2]] == ["agent", "customer"]
    second = conversation.turns[1]
    assert (second.start, second.end) == (4.94, 10.7)  # from BeginOffsetMillis / EndOffsetMillis
    assert second.extra["sentiment"] == "NEGATIVE"
    assert conversation.metadata["sentiment"] == {"AGENT": 2.1, "CUSTOMER": 0.8}
    assert conversation.metadata["categories"] == ["CardDispute"]
    assert conversation.metadata["channel"] == "VOICE"
    assert "speaker_roles" not in conversation.metadata, "the vendor said the roles: nothing was inferred"


def test_contact_lens_participant_ids_resolved_through_participants_and_chat_events_kept() -> None:
    raw = {
        "Version": "1.1.0", "Channel": "CHAT", "LanguageCode": "en-US",
        "Participants": [{"ParticipantId": "e9b3-cust", "ParticipantRole": "CUSTOMER"},
                         {"ParticipantId": "f36a-agent", "ParticipantRole": "AGENT"}],
        "Transcript": [
            {"Id": "1", "ParticipantId": "f36a-agent", "ContentType": "application/vnd.amazonaws.connect.event."
             "participant.joined", "AbsoluteTime": "2026-11-02T09:00:00.000Z"},
            {"Id": "2", "ParticipantId": "f36a-agent", "Content": "Hello, Harbourside Bank, how can I help?"},
            {"Id": "3", "ParticipantId": "e9b3-cust", "Content": "My card was declined."},
        ],
    }
    conversation = convert(raw, default_id="chat-7")
    assert conversation.id == "chat-7"
    assert [turn.role for turn in conversation.turns] == [Role.EVENT, Role.AGENT, Role.CUSTOMER]
    assert conversation.turns[0].extra["absolute_time"] == "2026-11-02T09:00:00.000Z"


def test_ccai_insights_roles_words_and_metadata() -> None:
    conversation = only(CCAI)
    assert conversation.id == "zh-card-unfreeze-0412"  # the last part of the conversation's name
    assert (conversation.lang, conversation.agent_id) == ("zh", "a-lina")
    assert conversation.started_at == "2026-11-02T03:05:00Z"
    assert alternating(conversation)
    first = conversation.turns[0]
    assert first.text == "您好，华信银行信用卡中心，我是客服李娜，请问有什么可以帮您？"
    assert first.start == 0.5 and first.end == pytest.approx(7.1, abs=0.01)
    assert first.extra["sentiment"] == {"magnitude": 0.3, "score": 0.1}
    assert conversation.metadata["medium"] == "PHONE_CALL"
    assert conversation.metadata["labels"] == {"queue": "credit-card"}


def test_ccai_insights_without_roles_takes_them_from_the_call_metadata_channels() -> None:
    raw = document(CCAI)
    for segment in raw["transcript"]["transcriptSegments"]:
        del segment["segmentParticipant"]
        del segment["text"]  # the words make the text
    conversation = convert(raw)
    assert alternating(conversation)
    assert conversation.turns[0].text == "您好，华信银行信用卡中心，我是客服李娜，请问有什么可以帮您？"


def test_ccai_insights_chat_import_entries() -> None:
    raw = {"entries": [
        {"start_timestamp_usec": 1_762_074_000_000_000, "text": "Hi, my card is blocked.", "role": "CUSTOMER",
         "user_id": 1},
        {"start_timestamp_usec": 1_762_074_004_500_000, "text": "Hello, Harbourside Bank, I can help with that.",
         "role": "AGENT", "user_id": 2},
    ]}
    conversation = convert(raw, default_id="chat-9")
    assert [(t.role, t.start) for t in conversation.turns] == [(Role.CUSTOMER, 0.0), (Role.AGENT, 4.5)]
    assert conversation.id == "chat-9"


def test_azure_batch_transcription_speakers_ticks_and_locale() -> None:
    conversation = only(AZURE)
    assert conversation.id == "azure-speech-zh-hant-fee-waiver"  # the file name: Azure names no job
    assert conversation.lang == "zh"
    assert conversation.metadata["audio"] == "tw-fee-waiver-1107.wav", "never the SAS query"
    assert {turn.speaker for turn in conversation.turns} == {"Speaker 1", "Speaker 2"}
    first = conversation.turns[0]
    assert first.text == "您好，華信銀行客服中心，敝姓陳，請問有什麼可以為您服務？"
    assert first.start == 0.5 and first.end == pytest.approx(6.66, abs=0.01)
    assert first.extra["confidence"] == 0.9123


def test_azure_fast_transcription_and_phrases_that_recognised_nothing() -> None:
    raw = {"durationMilliseconds": 9000, "combinedPhrases": [{"text": "..."}], "phrases": [
        {"speaker": "Guest-1", "offsetMilliseconds": 960, "durationMilliseconds": 640, "text": "Good afternoon.",
         "locale": "en-US", "confidence": 0.93},
        {"speaker": "Guest-2", "offsetMilliseconds": 2000, "durationMilliseconds": 1500, "text": "Hi, my card...",
         "locale": "en-US", "confidence": 0.9},
    ]}
    conversation = convert(raw)
    assert [(t.speaker, t.start, t.end) for t in conversation.turns] == [("Guest-1", 0.96, 1.6),
                                                                         ("Guest-2", 2.0, 3.5)]
    batch = document(AZURE)
    batch["recognizedPhrases"].insert(1, {"recognitionStatus": "NoMatch", "channel": 0, "offsetInTicks": 1e7,
                                          "durationInTicks": 1e6})
    assert len(convert(batch).turns) == 15


@pytest.mark.parametrize("name", ["transcribe.json", "transcribe.txt", "transcribe.TXT"])
def test_a_vendor_file_is_recognised_by_its_content_whatever_its_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(TRANSCRIBE.read_bytes())
    conversation = only(path)
    assert conversation.metadata["transcript_format"] == "amazon-transcribe"
    assert len(conversation.turns) == 15


def test_a_list_of_vendor_documents_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "calls.json"
    path.write_text(json.dumps([document(CONTACT_LENS), document(AZURE)], ensure_ascii=False), encoding="utf-8")
    loaded = load_file(path)
    assert loaded.problems == []
    assert [c.id for c in loaded.conversations] == ["0b4f7c2e-5a1d-4e8b-9c3f-2d6a7e8f9012", "calls-1"]


def test_a_json_object_of_no_known_format_says_which_formats_are_known(tmp_path: Path) -> None:
    loaded = load_bytes(json.dumps({"conversation": {"messages": []}}).encode(), "export.json")
    assert loaded.conversations == []
    [problem] = loaded.problems
    assert problem.path == "export.json"
    assert NOT_A_TRANSCRIPT in problem.reason
    for name in ("Amazon Transcribe", "Contact Lens", "CCAI Insights", "Azure speech"):
        assert name in problem.reason


BROKEN: list[tuple[Path, Any, str]] = [
    (TRANSCRIBE, lambda d: d["results"]["audio_segments"][3].pop("transcript"),
     "Amazon Transcribe JSON: results.audio_segments[3].transcript: missing"),
    (TRANSCRIBE, lambda d: d["results"]["audio_segments"][2].update(start_time="soon"),
     "Amazon Transcribe JSON: results.audio_segments[2].start_time: must be a number of seconds, got 'soon'"),
    (CONTACT_LENS, lambda d: d["Transcript"][4].update(Content=7),
     "Amazon Connect Contact Lens JSON: Transcript[4].Content: must be a string, got number"),
    (CONTACT_LENS, lambda d: d["Transcript"][1].update(EndOffsetMillis=10),
     "Amazon Connect Contact Lens JSON: Transcript[1]: ends (0.01 s) before it starts (4.94 s)"),
    (CCAI, lambda d: d["transcript"]["transcriptSegments"][0]["words"][0].update(startOffset="half past"),
     "Google CCAI Insights JSON: transcript.transcriptSegments[0].words[0].startOffset: must be a duration"),
    (AZURE, lambda d: d["recognizedPhrases"][5].update(nBest="none"),
     "Azure speech JSON: recognizedPhrases[5].nBest: must be a list, got string"),
]


@pytest.mark.parametrize(("sample", "damage", "reason"), BROKEN)
def test_a_broken_vendor_file_is_one_problem_naming_the_vendors_field(
    tmp_path: Path, sample: Path, damage: Any, reason: str
) -> None:
    raw = copy.deepcopy(document(sample))
    damage(raw)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    loaded = load_file(path)
    assert loaded.conversations == []
    [problem] = loaded.problems
    assert reason in problem.reason, problem.reason


def test_a_truncated_vendor_file_is_invalid_json_at_its_line(tmp_path: Path) -> None:
    text = CONTACT_LENS.read_text(encoding="utf-8")
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    [problem] = load_file(path).problems
    assert "invalid JSON" in problem.reason and problem.line is not None


def test_the_samples_do_not_disturb_the_training_corpora() -> None:
    """training/step-scorer.yaml reads all of corpora/ by sop_id: vendor samples carry no gold, so none is used."""
    from auditor.evaluation.gold_labels import has_gold

    loaded = load_inputs([VENDOR_DIR])
    assert loaded.problems == [] and len(loaded.conversations) == len(SAMPLES)
    assert not any(has_gold(conversation) for conversation in loaded.conversations)


@pytest.mark.parametrize("sample", list(SAMPLES), ids=lambda path: path.stem)
def test_each_sample_is_audited_end_to_end(tmp_path: Path, sample: Path) -> None:
    result = CliRunner().invoke(
        app, ["audit", str(sample), "--sop", "bank-phone-service", "--embedder", "hashing", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert row["sop_id"] == "bank-phone-service"
    assert row["metadata"]["transcript_format"] == SAMPLES[sample]
    statuses = {step["step_id"]: step["status"] for step in row["steps"]}
    assert statuses["greet"] == "done" and statuses["close"] == "done", statuses
    if sample in (TRANSCRIBE, CONTACT_LENS):  # the hashing embedder reads English well enough for the rest
        assert statuses["verify_identity"] == "done" and statuses["discuss_account"] == "done", statuses
    if sample in (TRANSCRIBE, AZURE):  # diarized: the roles were inferred, and surely
        assert row["metadata"]["speaker_roles_confidence"] >= 0.8
        assert set(row["metadata"]["speaker_roles"].values()) == {"agent", "customer"}
