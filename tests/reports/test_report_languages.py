"""report.html in one language throughout (issue 21): English by default, simplified or traditional Chinese with
``--report-lang``: headings, statuses, flags, chart labels and step names from the SOP's translations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.reports.html import REPORT_LANGUAGES, localised_sop_name, localised_step_names, report_texts
from auditor.sop.loading import load_sop
from auditor.text.interface import to_traditional
from auditor.text.normalise import has_han
from tests.conftest import REPO

runner = CliRunner()
CORPORA = [str(REPO / "corpora" / lang / "bank-phone-service.jsonl") for lang in ("en", "zh-Hans")]
FORBIDDEN_NAME = "不得保证退款或处理结果"  # promise_guarantee's name in the SOP's zh translations


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """report.html of the same audit in every language (``default``: no --report-lang)."""
    pages = {}
    for lang in ("default", "zh-Hans", "zh-Hant"):
        out = tmp_path_factory.mktemp(lang)
        chosen = [] if lang == "default" else ["--report-lang", lang]
        args = ["audit", *CORPORA, "--sop", "bank-phone-service", "--embedder", "hashing", "--out", str(out), *chosen]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        pages[lang] = (out / "report.html").read_text(encoding="utf-8")
    return pages


def interface_text(page: str) -> str:
    """The page's words less transcripts, quotes, SOP text and reasons (which show as written)."""
    body = page[page.index("<body>") :]
    body = re.sub(r"<script>.*?</script>", "", body, flags=re.S)
    body = re.sub(r'<(span|div)[^>]*lang="[^"]*"[^>]*>.*?</\1>', "", body, flags=re.S)
    body = re.sub(r'<span class="(act|tag)[^"]*"[^>]*>.*?</span>', "", body, flags=re.S)  # quote what was said
    return re.sub(r"<[^>]+>", " ", body)


def test_default_report_stays_english(reports: dict[str, str]) -> None:
    page = reports["default"]
    assert '<html lang="en">' in page
    assert "<h2>Compliance per step" in page
    assert "missing here" in page and "会话" not in interface_text(page)


def test_simplified_report_has_chinese_headings_statuses_and_step_names(reports: dict[str, str]) -> None:
    page = reports["zh-Hans"]
    assert '<html lang="zh-Hans">' in page
    assert "<h1>SOP 质检报告：" in page
    for heading in ("各坐席合规情况", "各步骤合规情况", "概览", "步骤完成情况"):
        assert heading in page
    for status in ("已完成", "缺失", "超时", "不适用"):
        assert f">{status}<" in page
    assert "缺失：" in page  # flags as words with the step's name, not missing:step_id
    assert re.search(r'class="flag f-missing">missing:', page) is None
    assert "&amp;#39;" not in page and "&amp;amp;" not in page  # names with quotes escaped once
    assert FORBIDDEN_NAME in page  # the SOP's zh name of promise_guarantee, in the tables and the charts
    assert f"⊘ {FORBIDDEN_NAME}" in page


def test_traditional_report_uses_traditional_characters_only(reports: dict[str, str]) -> None:
    page = reports["zh-Hant"]
    assert '<html lang="zh-Hant">' in page
    assert "SOP 質檢報告：" in page and "待複核" in page
    assert to_traditional(FORBIDDEN_NAME) in page
    words = "".join(re.findall(r"[\u3400-\u9fff]+", interface_text(page)))
    assert words and to_traditional(words) == words  # no simplified-only character left to convert


def test_every_language_has_every_key() -> None:
    english = report_texts("en")
    for lang in REPORT_LANGUAGES:
        assert report_texts(lang).keys() == english.keys()
    for value in report_texts("zh-Hant").values():
        assert to_traditional(str(value)) == str(value)
    with pytest.raises(ValueError, match="zh-Hans"):
        report_texts("fr")


def test_step_names_come_from_translations_else_the_sop() -> None:
    sop = load_sop(REPO / "auditor" / "rules" / "bank-phone-service.yaml")
    assert localised_step_names(sop, "en")["promise_guarantee"] == sop.step("promise_guarantee").name
    assert localised_step_names(sop, "zh-Hans")["promise_guarantee"] == FORBIDDEN_NAME
    assert localised_step_names(sop, "zh-Hant")["promise_guarantee"] == to_traditional(FORBIDDEN_NAME)
    untranslated = sop.model_copy(
        update={"steps": [step.model_copy(update={"translations": {}}) for step in sop.steps], "translations": {}}
    )
    assert localised_step_names(untranslated, "zh-Hans")["greet"] == sop.step("greet").name  # as written
    assert localised_sop_name(untranslated, "zh-Hant") == sop.name


def test_every_built_in_sop_and_step_has_a_chinese_name() -> None:
    for path in sorted((REPO / "auditor" / "rules").glob("*.yaml")):
        sop = load_sop(path)
        assert has_han(localised_sop_name(sop, "zh-Hans")), path.name
        for step_id, name in localised_step_names(sop, "zh-Hant").items():
            assert has_han(name) and to_traditional(name) == name, (path.name, step_id)


def test_unknown_report_language_is_a_usage_error(tmp_path: Path) -> None:
    args = ["audit", CORPORA[0], "--sop", "bank-phone-service", "--out", str(tmp_path), "--report-lang", "fr"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "'en', 'zh-Hans', 'zh-Hant'" in text
