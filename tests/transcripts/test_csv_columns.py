"""CSV exports as contact centres write them: Chinese and English header names, an explicit mapping for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.conversation import Conversation, Role
from auditor.transcripts.csv_files import parse_column_mapping, resolve_columns
from auditor.transcripts.loaders import LoadResult, load_file, load_inputs
from auditor.transcripts.options import ReadOptions


def write(path: Path, content: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode(encoding))
    return path


def only(result: LoadResult) -> Conversation:
    assert result.problems == [], [str(problem) for problem in result.problems]
    assert len(result.conversations) == 1
    return result.conversations[0]


def test_simplified_chinese_headers_and_speakers_load(tmp_path: Path) -> None:
    rows = "通话ID,坐席工号,角色,内容\nc-1,A-17,坐席,您好，请问有什么可以帮您？\nc-1,A-17,客户,我的订单还没到\n"
    conversation = only(load_file(write(tmp_path / "export.csv", rows)))

    assert (conversation.id, conversation.agent_id) == ("c-1", "A-17")
    assert [(turn.speaker, turn.role, turn.text) for turn in conversation.turns] == [
        ("坐席", Role.AGENT, "您好，请问有什么可以帮您？"),
        ("客户", Role.CUSTOMER, "我的订单还没到"),
    ]
    assert conversation.turns[0].extra == {}, "recognised columns are not kept as extra fields"


def test_traditional_chinese_headers_with_times_and_language(tmp_path: Path) -> None:
    rows = (
        "會話編號,坐席工號,說話人,內容,開始時間,結束時間,語言\n"
        "t-1,B-2,客服,您好，請問有什麼可以幫您？,0,2.5,zh-TW\n"
        "t-1,B-2,顧客,我的訂單還沒到,3,5,zh-TW\n"
    )
    conversation = only(load_file(write(tmp_path / "export.csv", rows)))

    assert (conversation.id, conversation.agent_id, conversation.lang) == ("t-1", "B-2", "zh")
    assert [turn.role for turn in conversation.turns] == [Role.AGENT, Role.CUSTOMER]
    assert [(turn.start, turn.end) for turn in conversation.turns] == [(0.0, 2.5), (3.0, 5.0)]


def test_english_header_variants_ignore_case_spaces_and_separators(tmp_path: Path) -> None:
    rows = "Call ID,Agent Name,Role,Utterance,Start Time\n" + (
        "c-1,Priya,Agent,Hello,00:00:01\nc-1,Priya,Customer,Hi,01:02.5\n"
    )
    conversation = only(load_file(write(tmp_path / "export.csv", rows)))

    assert (conversation.id, conversation.agent_id) == ("c-1", "Priya")
    assert [turn.text for turn in conversation.turns] == ["Hello", "Hi"]
    assert [turn.start for turn in conversation.turns] == [1.0, 62.5], "clock times are read as seconds"


def test_date_times_in_a_time_column_count_from_the_first_and_start_the_call(tmp_path: Path) -> None:
    rows = "会话ID,说话人,文本,时间\nc-1,客服,您好,2024-05-01 09:00:00\nc-1,客户,你好,2024-05-01 09:00:07\n"
    conversation = only(load_file(write(tmp_path / "chat.csv", rows)))

    assert [turn.start for turn in conversation.turns] == [0.0, 7.0]
    assert conversation.started_at == "2024-05-01 09:00:00"


def test_explicit_mapping_names_headers_the_built_in_names_do_not_know(tmp_path: Path) -> None:
    rows = "通话编号X,工号X,身份,话术内容X,备注\nc-1,A-1,坐席,您好,vip\nc-1,A-1,客户,你好,vip\n"
    path = write(tmp_path / "export.csv", rows)
    mapping = parse_column_mapping("conversation_id=通话编号X, agent_id=工号X,speaker=身份,text=话术内容X")

    conversation = only(load_file(path, options=ReadOptions(csv_columns=mapping)))

    assert (conversation.id, conversation.agent_id) == ("c-1", "A-1")
    assert [turn.role for turn in conversation.turns] == [Role.AGENT, Role.CUSTOMER]
    assert conversation.turns[0].extra == {"备注": "vip"}
    assert only(load_inputs([path], options=ReadOptions(csv_columns=mapping))).agent_id == "A-1"


def test_the_explicit_mapping_wins_over_a_recognised_name() -> None:
    named = resolve_columns(["text", "内容", "speaker", "conversation_id"], {"text": "内容"})

    assert named == ["text#1", "text", "speaker", "conversation_id"]


def test_exact_contract_names_keep_their_meaning_before_synonyms() -> None:
    assert resolve_columns(["conversation_id", "Call ID", "speaker", "text", None]) == [
        "conversation_id",
        "Call ID",
        "speaker",
        "text",
        None,
    ]


def test_missing_columns_name_the_headers_found_and_how_to_map_them(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "编号,身份,话术\nc-1,坐席,您好\n")

    result = load_file(path)

    assert result.conversations == []
    [problem] = result.problems
    assert problem.line == 1
    assert problem.reason.startswith("missing required column(s): conversation_id, speaker; the header has ")
    assert "'编号', '身份', '话术'" in problem.reason
    assert '--csv-columns "conversation_id=编号"' in problem.reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("conversation_id", "is not column=header"),
        ("speaker_id=说话人", "unknown column 'speaker_id'"),
        ("text=a,text=b", "mapped twice"),
    ],
)
def test_a_bad_mapping_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_column_mapping(text)


def test_english_exports_with_contract_names_load_as_before(tmp_path: Path) -> None:
    rows = "conversation_id,agent_id,speaker,text,queue\nc-1,a-1,agent,Hello,vip\nc-1,a-1,customer,Hi,vip\n"
    conversation = only(load_file(write(tmp_path / "export.csv", rows)))

    assert conversation.turns[0].extra == {"queue": "vip"}
    assert conversation.started_at is None
