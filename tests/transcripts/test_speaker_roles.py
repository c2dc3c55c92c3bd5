"""Speaker labels (issue 20): no turn dropped silently, roles inferred for diarized calls, explicit maps win."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from auditor.api.app import create_app
from auditor.cli import app
from auditor.conversation import Role
from auditor.transcripts.loaders import load_bytes
from auditor.transcripts.options import ReadOptions
from auditor.transcripts.records import conversation_from_mapping
from auditor.transcripts.speaker_roles import (
    ROLE_CONFIDENCE,
    ROLES_CONFIDENCE,
    ROLES_UNCERTAIN_FLAG,
    SPEAKER_ROLES,
    is_diarized,
    parse_speaker_map,
    resolve_roles,
)
from tests.api.conftest import CALL, CHECKOUT_SOP, HEADERS, make_settings, transcript

EN_CALL = [
    ("Thank you for calling Acme Bank, this is Sam. How can I help you today?", Role.AGENT),
    ("Hi, I lost my card yesterday and I want to block it.", Role.CUSTOMER),
    ("I'm sorry to hear that. For security, can I have your date of birth?", Role.AGENT),
    ("Sure, it's the fifth of March 1984.", Role.CUSTOMER),
    ("Thanks. Let me check your account. One moment please.", Role.AGENT),
    ("Okay.", Role.CUSTOMER),
    ("The card is blocked now. Is there anything else I can help you with?", Role.AGENT),
    ("No, that's all, thanks.", Role.CUSTOMER),
]
ZH_CALL = [
    ("您好，欢迎致电星河银行，我是客服小李，请问有什么可以帮您？", Role.AGENT),
    ("你好，我的信用卡昨天被扣了两笔钱，我想问一下怎么回事。", Role.CUSTOMER),
    ("非常抱歉给您带来不便，请您提供一下身份证后四位，我帮您核实。", Role.AGENT),
    ("后四位是三四五六。", Role.CUSTOMER),
    ("好的，请稍等，我帮您查一下。", Role.AGENT),
    ("好的。", Role.CUSTOMER),
    ("请问还有其他可以帮您的吗？", Role.AGENT),
    ("没有了，谢谢。", Role.CUSTOMER),
]


def record(lines: list[tuple[str, Role]], labels: dict[Role, str], **fields: Any) -> dict[str, Any]:
    turns = [{"speaker": labels[role], "text": text} for text, role in lines]
    return {"id": "call-1", "agent_id": "a-1", "turns": turns} | fields


def jsonl(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


# --- labels ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label",
    [
        "Speaker 1",
        "speaker_0",
        "SPEAKER_01",
        "spk_0",
        "spk1",
        "ch_0",
        "Channel 2",
        "A",
        "b",
        "说话人1",
        "說話人2",
        "发言人 1",
        "Guest-1",
    ],
)
def test_diarization_labels_are_recognised(label: str) -> None:
    assert is_diarized(label)


@pytest.mark.parametrize("label", ["Agnet", "Custmer", "Speaker", "Sam", "John Smith", "speaker 123", "AB", "客服2号"])
def test_names_and_typos_are_not_diarization_labels(label: str) -> None:
    assert not is_diarized(label)


def test_a_typo_in_a_jsonl_speaker_is_named_with_line_label_and_count() -> None:
    good = record(EN_CALL, {Role.AGENT: "agent", Role.CUSTOMER: "customer"}, id="good")
    bad = record(EN_CALL, {Role.AGENT: "Agnet", Role.CUSTOMER: "customer"}, id="bad")

    result = load_bytes(jsonl(good, bad), "calls.jsonl")

    assert [c.id for c in result.conversations] == ["good"]
    [problem] = result.problems
    assert problem.line == 2
    assert "'Agnet' (4 turns)" in problem.reason and "--speaker-map" in problem.reason
    assert str(problem).startswith("calls.jsonl:2: unknown speaker label 'Agnet'")


def test_an_unknown_label_in_csv_is_named_with_its_line() -> None:
    raw = "conversation_id,speaker,text\nc-1,agent,Hello\nc-1,customer,Hi\nc-2,agent,Hello\nc-2,Boss,Hi there\n"

    result = load_bytes(raw.encode(), "calls.csv")

    assert [c.id for c in result.conversations] == ["c-1"]
    [problem] = result.problems
    assert problem.line is not None and problem.line >= 4
    assert "'Boss' (1 turn)" in problem.reason


def test_an_unknown_label_in_srt_is_named_with_the_line_it_is_first_on() -> None:
    raw = (
        "1\n00:00:01,000 --> 00:00:02,000\nAgent: Hello, how can I help?\n\n"
        "2\n00:00:03,000 --> 00:00:04,000\nKunde: Hi\n"
    )

    result = load_bytes(raw.encode(), "call.srt")

    assert result.conversations == []
    [problem] = result.problems
    assert (problem.line, "'Kunde' (1 turn)" in problem.reason) == (7, True)


def test_known_event_labels_stay_events_and_labels_all_known_change_nothing() -> None:
    conversation = conversation_from_mapping(
        {"turns": [{"speaker": "agent", "text": "hi"}, {"speaker": "System", "text": "hold"}]},
        source="",
        default_id="x",
    )
    assert resolve_roles(conversation) is conversation
    assert [t.role for t in conversation.turns] == [Role.AGENT, Role.EVENT]


# --- inference ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "labels"),
    [
        (EN_CALL, {Role.AGENT: "Speaker 2", Role.CUSTOMER: "Speaker 1"}),
        (EN_CALL, {Role.AGENT: "spk_0", Role.CUSTOMER: "spk_1"}),
        (ZH_CALL, {Role.AGENT: "说话人2", Role.CUSTOMER: "说话人1"}),
        (ZH_CALL, {Role.AGENT: "B", Role.CUSTOMER: "A"}),
    ],
)
def test_roles_of_a_diarized_call_are_inferred_and_recorded(lines: list[tuple[str, Role]], labels: dict) -> None:
    result = load_bytes(jsonl(record(lines, labels)), "call.jsonl")

    [conversation] = result.conversations
    assert [t.role for t in conversation.turns] == [role for _, role in lines]
    assert conversation.metadata[SPEAKER_ROLES] == {labels[Role.AGENT]: "agent", labels[Role.CUSTOMER]: "customer"}
    assert conversation.metadata[ROLES_CONFIDENCE] >= ROLE_CONFIDENCE


def test_a_customer_who_greets_politely_first_does_not_become_the_agent() -> None:
    lines = [
        ("Hello, good morning! Thank you for taking my call.", Role.CUSTOMER),
        ("Good morning, welcome to Acme Telecom, my name is Jo. How may I help you?", Role.AGENT),
        ("My internet has not been working since Monday and I need it for work.", Role.CUSTOMER),
        ("I'm sorry to hear that. Can I have your account number to verify your details?", Role.AGENT),
        ("Yes, it's 55 21 90.", Role.CUSTOMER),
        ("Thank you. Let me check the line. Please hold.", Role.AGENT),
    ]
    [conversation] = load_bytes(jsonl(record(lines, {Role.AGENT: "S1", Role.CUSTOMER: "S2"})), "c.jsonl").conversations
    assert conversation.metadata[SPEAKER_ROLES] == {"S1": "agent", "S2": "customer"}


def test_a_chinese_customer_who_says_nin_hao_first_does_not_become_the_agent() -> None:
    lines = [
        ("您好，请问是客服吗？", Role.CUSTOMER),
        ("您好，很高兴为您服务，我是工号1024，请问有什么可以帮您？", Role.AGENT),
        ("我的快递三天了还没收到，你们怎么回事？", Role.CUSTOMER),
        ("非常抱歉，请您提供一下订单号，我帮您查一下。", Role.AGENT),
    ]
    labels = {Role.AGENT: "說話人2", Role.CUSTOMER: "說話人1"}
    [conversation] = load_bytes(jsonl(record(lines, labels)), "c.jsonl").conversations
    assert [t.role for t in conversation.turns] == [role for _, role in lines]


def test_a_call_that_gives_nothing_away_is_flagged_for_review() -> None:
    lines = [("Hello?", Role.AGENT), ("Hello.", Role.CUSTOMER), ("Yes.", Role.AGENT), ("Okay.", Role.CUSTOMER)]
    [conversation] = load_bytes(jsonl(record(lines, {Role.AGENT: "A", Role.CUSTOMER: "B"})), "c.jsonl").conversations
    assert conversation.metadata[ROLES_CONFIDENCE] < ROLE_CONFIDENCE


def test_a_label_mixed_with_role_names_is_reported_not_guessed() -> None:
    result = load_bytes(jsonl(record(EN_CALL, {Role.AGENT: "agent", Role.CUSTOMER: "Speaker 2"})), "c.jsonl")
    assert result.conversations == [] and "'Speaker 2' (4 turns)" in result.problems[0].reason


# --- explicit maps --------------------------------------------------------------------------------------------------


def test_an_explicit_map_overrides_inference_and_names() -> None:
    labels = {Role.AGENT: "Speaker 1", Role.CUSTOMER: "Speaker 2"}
    swapped = parse_speaker_map("speaker 1=customer, Speaker 2 = agent")

    loaded = load_bytes(jsonl(record(EN_CALL, labels)), "c.jsonl", options=ReadOptions(speaker_map=swapped))
    [conversation] = loaded.conversations

    assert conversation.turns[0].role is Role.CUSTOMER
    assert conversation.metadata[ROLES_CONFIDENCE] == 1.0


def test_a_record_speaker_map_maps_a_typo() -> None:
    raw = record(EN_CALL, {Role.AGENT: "Agnet", Role.CUSTOMER: "customer"}, speaker_map={"Agnet": "agent"})
    [conversation] = load_bytes(jsonl(raw), "c.jsonl").conversations
    assert conversation.turns[0].role is Role.AGENT and conversation.metadata[SPEAKER_ROLES] == {"Agnet": "agent"}


@pytest.mark.parametrize("text", ["Speaker 1", "Speaker 1=boss", "=agent"])
def test_a_bad_speaker_map_says_what_is_wrong(text: str) -> None:
    with pytest.raises(ValueError, match="agent|LABEL=ROLE"):
        parse_speaker_map(text)


# --- command line and API -------------------------------------------------------------------------------------------


def _audit(tmp_path: Path, records: list[dict[str, Any]], *options: str) -> tuple[Any, list[dict[str, Any]]]:
    source = tmp_path / "calls.jsonl"
    source.write_bytes(jsonl(*records))
    out = tmp_path / "out"
    command = ["audit", str(source), "--sop", "bank-phone-service", "--out", str(out), "--embedder", "hashing"]
    outcome = CliRunner().invoke(app, [*command, *options])
    results_file = out / "results.jsonl"
    lines = results_file.read_text(encoding="utf-8").splitlines() if results_file.exists() else []
    return outcome, [json.loads(line) for line in lines]


def test_cli_names_an_unknown_label_exits_1_and_audits_the_rest(tmp_path: Path) -> None:
    good = record(EN_CALL, {Role.AGENT: "Speaker 1", Role.CUSTOMER: "Speaker 2"}, id="diarized")
    bad = record(EN_CALL, {Role.AGENT: "Agnet", Role.CUSTOMER: "customer"}, id="typo")

    outcome, results = _audit(tmp_path, [good, bad])

    assert outcome.exit_code == 1
    assert "calls.jsonl:2: unknown speaker label 'Agnet' (4 turns)" in " ".join(outcome.output.split())
    [result] = results
    assert result["metadata"][SPEAKER_ROLES] == {"Speaker 1": "agent", "Speaker 2": "customer"}


def test_cli_speaker_map_overrides_and_a_low_confidence_call_needs_review(tmp_path: Path) -> None:
    lines = [("Hello?", Role.AGENT), ("Hello.", Role.CUSTOMER), ("Yes.", Role.AGENT), ("Okay.", Role.CUSTOMER)]
    vague = record(lines, {Role.AGENT: "A", Role.CUSTOMER: "B"}, id="vague")
    swapped = record(EN_CALL, {Role.AGENT: "Speaker 1", Role.CUSTOMER: "Speaker 2"}, id="swapped")

    outcome, results = _audit(tmp_path, [vague], "--speaker-map", "A=agent,B=customer")
    assert outcome.exit_code == 0 and ROLES_UNCERTAIN_FLAG not in results[0]["flags"]

    outcome, results = _audit(tmp_path, [vague, swapped], "--speaker-map", "Speaker 1=customer,Speaker 2=agent")
    by_id = {r["conversation_id"]: r for r in results}
    assert ROLES_UNCERTAIN_FLAG in by_id["vague"]["flags"] and by_id["vague"]["outcome"] == "needs_review"
    assert by_id["swapped"]["metadata"][SPEAKER_ROLES] == {"Speaker 1": "customer", "Speaker 2": "agent"}


def test_cli_refuses_a_malformed_speaker_map(tmp_path: Path) -> None:
    outcome, _ = _audit(
        tmp_path, [record(EN_CALL, {Role.AGENT: "agent", Role.CUSTOMER: "customer"})], "--speaker-map", "Speaker 1"
    )
    assert outcome.exit_code == 2 and "LABEL=ROLE" in outcome.output


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "card-check.yaml").write_text(CHECKOUT_SOP, encoding="utf-8")
    with TestClient(create_app(make_settings(tmp_path)), raise_server_exceptions=False) as test_client:
        yield test_client


def test_api_answers_422_naming_an_unknown_label(client: TestClient) -> None:
    turns = [dict(turn, speaker="Agnet") if turn["speaker"] == "agent" else turn for turn in CALL]
    response = client.post("/v1/audit?sop=card-check", json=transcript(turns), headers=HEADERS)
    assert response.status_code == 422
    assert "'Agnet' (4 turns)" in response.text


def test_api_speaker_map_field_and_inferred_roles(client: TestClient) -> None:
    labels = {"agent": "spk_0", "customer": "spk_1"}
    turns = [dict(turn, speaker=labels.get(turn["speaker"], turn["speaker"])) for turn in CALL]

    inferred = client.post("/v1/audit?sop=card-check", json=transcript(turns), headers=HEADERS).json()
    mapped = client.post(
        "/v1/audit?sop=card-check",
        json=transcript(turns, speaker_map={"spk_0": "customer", "spk_1": "agent"}),
        headers=HEADERS,
    ).json()

    assert inferred["metadata"][SPEAKER_ROLES] == {"spk_0": "agent", "spk_1": "customer"}
    assert mapped["metadata"][SPEAKER_ROLES] == {"spk_0": "customer", "spk_1": "agent"}
    assert mapped["metadata"][ROLES_CONFIDENCE] == 1.0
