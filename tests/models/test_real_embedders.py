"""The real embedding backends (slow): cross-lingual detection with USE-m, English detection with MiniLM."""

from __future__ import annotations

import pytest

from auditor.auditor import Auditor
from auditor.embeddings.provider import make_embedder
from auditor.sop.loading import sop_from_mapping
from tests.conftest import make_conversation

pytestmark = pytest.mark.slow

STEP_TEXTS = {  # in the order the calls below perform them (the detector uses SOP order as a prior)
    "greet": (
        "Greet the caller",
        ["Hello, thank you for calling City Bank, my name is Anna.", "Good morning, you're through to support."],
        ["您好，这里是城市银行，我是客服小李。", "上午好，欢迎致电客服中心。"],
    ),
    "apologize": (
        "Apologise for the problem",
        ["I'm really sorry about this, that shouldn't have happened.", "My apologies for the trouble."],
        ["真的很抱歉，给您添麻烦了。", "非常对不起，这是我们的失误。"],
    ),
    "verify_identity": (
        "Verify the caller's identity",
        ["Could you confirm your date of birth for security?", "Can I take your account number please?"],
        ["为了安全，请您提供一下出生日期。", "麻烦报一下您的账号。"],
    ),
    "close": (
        "Close the call politely",
        ["Thanks for calling, have a great day. Goodbye!", "Take care, bye now."],
        ["感谢您的来电，祝您生活愉快，再见！", "好的，再见。"],
    ),
}

EN_CALL = [
    ("agent", "Hi there, welcome to Metro Bank, I'm Joe."),
    ("customer", "Hi, my card payment was declined twice today."),
    ("agent", "Oh no, I do apologise for the inconvenience."),
    ("customer", "Can you check it?"),
    ("agent", "Of course. First, what's your full date of birth?"),
    ("customer", "Fourth of July 1990."),
    ("agent", "Thanks. The card is active again now."),
    ("customer", "Great."),
    ("agent", "Thank you for calling, goodbye!"),
]
ZH_CALL = [
    ("客服", "您好，欢迎致电都市银行，我是小周。"),
    ("客户", "你好，我的卡今天刷了两次都失败了。"),
    ("客服", "实在抱歉，给您带来不便了。"),
    ("客户", "能帮我看看吗？"),
    ("客服", "可以的，先请您告诉我您的出生日期。"),
    ("客户", "1990年7月4日。"),
    ("客服", "谢谢，您的卡已经恢复正常了。"),
    ("客户", "好的。"),
    ("客服", "感谢来电，再见！"),
]
ZH_HANT_CALL = [(speaker, text) for speaker, text in ZH_CALL]
EXPECTED_TURNS = {"greet": 0, "apologize": 2, "verify_identity": 4, "close": 8}


def sop_with(language: str):
    column = 1 if language == "en" else 2
    steps = [{"id": step_id, "name": texts[0], "examples": texts[column]} for step_id, texts in STEP_TEXTS.items()]
    return sop_from_mapping({"id": f"cross-{language}", "name": "Cross-lingual", "steps": steps})


@pytest.fixture(scope="module")
def use_m():
    return make_embedder("use-m")


def detected_turns(auditor: Auditor, turns) -> dict[str, int | None]:
    result = auditor.audit(make_conversation(turns))
    return {s.step_id: (s.evidence[0].turn_index if s.evidence else None) for s in result.steps}


@pytest.mark.parametrize(
    "sop_language, call",
    [("en", ZH_CALL), ("zh", EN_CALL), ("en", EN_CALL), ("zh", ZH_CALL)],
    ids=["en-sop-zh-call", "zh-sop-en-call", "en-en", "zh-zh"],
)
def test_multilingual_backend_detects_steps_across_languages(use_m, sop_language, call):
    auditor = Auditor(sop_with(sop_language), use_m)
    assert detected_turns(auditor, call) == EXPECTED_TURNS


def test_traditional_chinese_call_is_audited_like_simplified(use_m):
    traditional = [
        (s, t.replace("欢迎致电都市银行", "歡迎致電都市銀行").replace("实在抱歉", "實在抱歉").replace("再见", "再見"))
        for s, t in ZH_CALL
    ]
    auditor = Auditor(sop_with("en"), use_m)
    assert detected_turns(auditor, traditional) == EXPECTED_TURNS


def test_english_minilm_backend_detects_english_steps():
    auditor = Auditor(sop_with("en"), make_embedder("minilm"))
    assert auditor.models["embedder"].startswith("all-minilm-l6-v2")
    assert detected_turns(auditor, EN_CALL) == EXPECTED_TURNS
