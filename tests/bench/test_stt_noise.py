"""Speech-to-text-like noise for the benchmarks: deterministic, no punctuation or casing, fillers, few slips."""

from __future__ import annotations

import random
import re
import unicodedata

from bench.stt_noise import FILLERS, NoiseLevel, noisy, noisy_conversation, strip_punctuation
from tests.conftest import make_conversation

ENGLISH = (
    "Hello, thanks for calling! Could I get your full name, please? Great. I've found your booking: "
    "it's for Tuesday at 5:30 PM, and the total is $3,996.50. Is there anything else I can help you with today? "
    "Okay -- have a lovely day, goodbye."
)
CHINESE = "您好，请问有什么可以帮您？我这边帮您查一下订单。好的，已经为您处理完毕！还有别的需要帮忙的吗？再见。"


def _punctuation(text: str) -> list[str]:
    """Punctuation marks and symbols left, apart from word-internal apostrophes and decimal points."""
    text = re.sub(r"(?<=\w)'(?=\w)|(?<=\d)\.(?=\d)", "", text)
    return [char for char in text if unicodedata.category(char)[0] in "PS"]


def _without_fillers(text: str, lang: str) -> str:
    for filler in sorted(FILLERS[lang], key=len, reverse=True):
        text = re.sub(rf"\b{filler}\b" if lang == "en" else filler, " ", text)
    return text


def test_same_seed_same_noise_and_other_seeds_differ():
    first = noisy(ENGLISH, "en", random.Random(7))
    assert first == noisy(ENGLISH, "en", random.Random(7))
    others = {noisy(ENGLISH, "en", random.Random(seed)) for seed in range(10)}
    assert len(others) > 1


def test_lowercases_and_removes_punctuation():
    for seed in range(20):
        text = noisy(ENGLISH, "en", random.Random(seed))
        assert text == text.lower()
        assert not _punctuation(text), text
        assert "  " not in text and text == text.strip()


def test_strip_punctuation_keeps_what_recognisers_write():
    assert strip_punctuation("I don't know, it's $3,996.50 at 5:30PM!") == "i don't know it's 3996.50 at 5 30pm"
    assert strip_punctuation("Great--thanks.") == "great thanks"


def test_adds_fillers():
    texts = [noisy(ENGLISH, "en", random.Random(seed)) for seed in range(20)]
    words = sum(len(text.split()) for text in texts)
    fillers = sum(len(re.findall(rf"\b{filler}\b", text)) for text in texts for filler in FILLERS["en"])
    assert 0.02 * words < fillers < 0.2 * words
    always = noisy("please confirm the time", "en", random.Random(0), NoiseLevel(filler=1.0, slip=0.0))
    assert len(always.split()) >= 8  # a filler (one or two words) before each of the four words


def test_keeps_roughly_the_word_count():
    original = strip_punctuation(ENGLISH).split()
    for seed in range(20):
        kept = _without_fillers(noisy(ENGLISH, "en", random.Random(seed)), "en").split()
        assert abs(len(kept) - len(original)) <= 0.15 * len(original)
    clean = noisy(ENGLISH, "en", random.Random(0), NoiseLevel(filler=0.0, slip=0.0))
    assert clean == strip_punctuation(ENGLISH)


def test_drops_and_doubles_some_words():
    level = NoiseLevel(filler=0.0, slip=0.5)
    text = noisy(" ".join(f"w{number}" for number in range(200)), "en", random.Random(3), level)
    words = text.split()
    doubled = sum(1 for a, b in zip(words, words[1:], strict=False) if a == b)
    dropped = 200 - len(set(words))
    assert 20 < doubled < 80 and 20 < dropped < 80


def test_chinese():
    text = noisy(CHINESE, "zh", random.Random(1))
    assert text == noisy(CHINESE, "zh", random.Random(1))
    assert not _punctuation(text) and " " not in text
    kept = _without_fillers(text, "zh").replace(" ", "")
    original = strip_punctuation(CHINESE).replace(" ", "")
    assert abs(len(kept) - len(original)) <= 0.2 * len(original)
    always = noisy(CHINESE, None, random.Random(1), NoiseLevel(filler=1.0, slip=0.0))  # language detected
    assert any(filler in always for filler in FILLERS["zh"])
    assert always.count("嗯") + always.count("那个") + always.count("就是") + always.count("然后") >= 5


def test_traditional_chinese_stays_traditional_and_latin_words_stay_apart():
    text = noisy("您好，請問您的帳號是ABC-123嗎？", "zh", random.Random(0), NoiseLevel(filler=0.0, slip=0.0))
    assert text == "您好請問您的帳號是abc 123嗎"


def test_conversation_noise_touches_spoken_turns_only():
    conversation = make_conversation(
        [
            ("customer", "Hi, I need a taxi!"),
            ("agent", "Sure. Where are you heading, please?"),
            ("action", 'query ride_book [{"Destination": "Airport"}]'),
            ("agent", "Okay, your ride is booked. Anything else?"),
        ]
    )
    noisy_copy = noisy_conversation(conversation, seed=5)
    assert noisy_copy == noisy_conversation(conversation, seed=5)
    assert noisy_copy.id == conversation.id
    assert [t.index for t in noisy_copy.turns] == [t.index for t in conversation.turns]
    assert [t.role for t in noisy_copy.turns] == [t.role for t in conversation.turns]
    assert noisy_copy.turns[2] == conversation.turns[2]
    for before, after in zip(conversation.turns, noisy_copy.turns, strict=True):
        if before.spoken:
            assert after.text != before.text and not _punctuation(after.text)
            assert after.gold_steps == before.gold_steps and after.extra == before.extra
    assert conversation.turns[1].text == "Sure. Where are you heading, please?"  # the original is not changed
