"""`auditor sops ...` as an SOP owner runs it: list, new, check, test, render, accept; exit codes per DESIGN.md."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from auditor.cli import app
from auditor.sop.loading import load_sop
from tests.conftest import REPO

runner = CliRunner()
ZH_CORPUS = REPO / "corpora" / "zh-Hans" / "complaint-handling.jsonl"


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def test_sops_without_a_subcommand_still_lists_the_built_in_sops():
    result = run("sops")
    assert result.exit_code == 0, result.output
    assert "complaint-handling" in result.output and "general-inbound-call" in result.output


def test_check_sop_alias_works_as_before(tmp_path):
    assert run("check-sop", str(REPO / "auditor" / "rules" / "complaint-handling.yaml")).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: X\nsteps:\n  - {id: a, name: A, before: [zzz]}\n", encoding="utf-8")
    result = run("check-sop", str(bad))
    assert result.exit_code == 1 and "unknown_step" in result.output


def test_new_from_a_pasted_chinese_checklist_writes_a_valid_sop_that_audits_the_chinese_corpus(tmp_path):
    out = tmp_path / "complaints.yaml"
    result = run(
        "sops",
        "new",
        "--text",
        "1. 聆听 2. 感谢 3. 确认理解 4. 道歉 5. 解决 6. 补偿（可选） 7. 回访 8. 记录",
        "--name",
        "投诉处理",
        "--owner",
        "张敏",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    sop = load_sop(out)
    assert sop.name == "投诉处理" and sop.owner == "张敏" and sop.languages == ["zh"]
    assert "complaint-handling/listen" in result.output  # where the seeded examples came from
    assert "# examples copied from built-in complaint-handling/listen" in out.read_text(encoding="utf-8")
    audited = run("audit", str(ZH_CORPUS), "--sop", str(out), "--out", str(tmp_path / "audit"), "--embedder", "hashing")
    assert audited.exit_code == 0, audited.output
    results = [json.loads(line) for line in (tmp_path / "audit" / "results.jsonl").read_text().splitlines()]
    assert len(results) == 5 and {r["sop_id"] for r in results} == {sop.id}
    assert [s["step_id"] for s in results[0]["steps"]] == [s.id for s in sop.steps]


def test_new_refuses_to_overwrite_and_reports_a_checklist_without_items(tmp_path):
    out = tmp_path / "s.yaml"
    out.write_text("keep me", encoding="utf-8")
    result = run("sops", "new", "--text", "1. Greet 2. Verify identity", "--out", str(out))
    assert result.exit_code == 2 and "exists" in result.output and out.read_text() == "keep me"
    empty = tmp_path / "empty.md"
    empty.write_text("We are nice to customers.\n", encoding="utf-8")
    result = run("sops", "new", str(empty), "--out", str(tmp_path / "t.yaml"))
    assert result.exit_code == 2 and "empty.md" in result.output and "no checklist items" in result.output


def test_new_asks_questions_when_no_checklist_is_given(tmp_path):
    out = tmp_path / "asked.yaml"
    answers = (
        "\n".join(
            [
                "Password reset",
                "Help customers reset passwords",
                "IT desk",
                "Verify identity",
                "n",  # not forbidden
                "Ask for the employee number",
                "What's your employee number? | Can I have your staff ID?",
                "I can't check staff IDs over chat | 工号就不用核对了",  # counter-examples
                "y",
                "Send reset link",
                "",  # "Send..." is not a prohibition: the default is no
                "",
                "",
                "",
                "n",
                "Never read the password back",
                "",  # "Never ..." makes forbidden the default
                "",
                "Your password is hunter2 | 您的密码是 123456",
                "",
                "",
                "",
            ]
        )
        + "\n"
    )
    result = run("sops", "new", "--out", str(out), "--no-seed", input=answers)
    assert result.exit_code == 0, result.output
    sop = load_sop(out)
    assert sop.name == "Password reset" and sop.owner == "IT desk"
    assert [s.id for s in sop.steps] == ["verify_identity", "send_reset_link", "read_password_back"]
    verify, send, never = sop.steps
    assert verify.examples == ["What's your employee number?", "Can I have your staff ID?"]
    assert verify.counter_examples == ["I can't check staff IDs over chat", "工号就不用核对了"] and not verify.forbidden
    assert not send.required and not send.forbidden and not send.counter_examples
    assert never.forbidden and never.required and never.examples == ["Your password is hunter2", "您的密码是 123456"]
    assert "no_description_or_examples" in result.output  # the second step has nothing to detect it by
    assert "examples of what must not be said" in result.output  # the forbidden step is asked about as such
    written = out.read_text(encoding="utf-8")
    assert written.count("forbidden: true") == 1 and written.count("counter_examples:") == 1
    assert "forbidden: false" not in written


def test_check_lints_and_exits_1_only_for_errors_or_strict_warnings(tmp_path):
    good = REPO / "auditor" / "rules" / "service-request.yaml"
    assert run("sops", "check", str(good), "--embedder", "none").exit_code == 0
    thin = tmp_path / "thin.yaml"
    thin.write_text("id: thin\nname: Thin\nowner: me\nsteps:\n  - {id: greet, name: Greet}\n", encoding="utf-8")
    result = run("sops", "check", str(thin), "--embedder", "hashing")
    assert result.exit_code == 0 and f"{thin}:5: warning: step 'greet'" in result.output
    assert run("sops", "check", str(thin), "--embedder", "none", "--strict").exit_code == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: b\nname: B\nsteps:\n  - {id: a, name: A, speaker: robot}\n", encoding="utf-8")
    result = run("sops", "check", str(broken), "--embedder", "none")
    assert result.exit_code == 1 and f"{broken}:4: step 'a': field 'speaker'" in result.output


def test_test_shows_evidence_turns_per_step_and_near_misses(tmp_path):
    result = run("sops", "test", "complaint-handling", str(ZH_CORPUS), "--embedder", "hashing", "--step", "apologize")
    assert result.exit_code == 0, result.output
    assert "apologize: Apologise for the problem" in result.output
    assert "evidence" in result.output and "zhs-ch-00" in result.output
    assert "listen:" not in result.output  # only the step asked for
    unknown = run("sops", "test", "complaint-handling", str(ZH_CORPUS), "--embedder", "hashing", "--step", "nope")
    assert unknown.exit_code == 2 and "no step nope" in unknown.output


def test_render_writes_markdown_and_html_in_each_language(tmp_path):
    result = run("sops", "render", "complaint-handling", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"complaint-handling.{lang}.{kind}" for lang in ("en", "zh") for kind in ("html", "md")]
    assert "参考话术" in (tmp_path / "complaint-handling.zh.md").read_text(encoding="utf-8")
    assert run("sops", "render", "complaint-handling", "--lang", "fr", "--out", str(tmp_path)).exit_code == 2


def test_accept_writes_a_new_version_and_leaves_the_old_file(tmp_path):
    sop_path = tmp_path / "returns.yaml"
    sop_path.write_text(
        "id: returns\nname: Returns\nversion: 1\nsteps:\n  - {id: apologize, name: Apologise, examples: [Sorry.]}\n",
        encoding="utf-8",
    )
    suggestions = tmp_path / "suggestions.yaml"
    entries = [
        {
            "sop": "returns",
            "sop_version": "1",
            "step": "apologize",
            "example": "I do apologise for the mix-up.",
            "accept": True,
        },
        {"sop": "returns", "sop_version": "1", "step": "apologize", "example": "Not this one.", "accept": False},
    ]
    suggestions.write_text(yaml.safe_dump({"suggestions": entries}), encoding="utf-8")
    before = sop_path.read_text(encoding="utf-8")
    result = run("sops", "accept", str(suggestions), "--sop", str(sop_path))
    assert result.exit_code == 0, result.output
    new = load_sop(tmp_path / "returns.v2.yaml")
    assert new.version == 2 and new.step("apologize").examples == ["Sorry.", "I do apologise for the mix-up."]
    assert sop_path.read_text(encoding="utf-8") == before
    again = run("sops", "accept", str(suggestions), "--sop", str(sop_path))
    assert again.exit_code == 2 and "exists" in again.output


def test_accept_refuses_an_example_that_is_one_of_the_steps_counter_examples(tmp_path):
    sop_path = tmp_path / "returns.yaml"
    sop_path.write_text(
        "id: returns\nname: Returns\nsteps:\n  - id: apologize\n    name: Apologise\n    examples: [Sorry.]\n"
        '    counter_examples: ["I\'m not sorry."]\n',
        encoding="utf-8",
    )
    suggestions = tmp_path / "suggestions.yaml"
    entry = {"sop": "returns", "step": "apologize", "example": "I'm not sorry", "accept": True}
    suggestions.write_text(yaml.safe_dump({"suggestions": [entry]}), encoding="utf-8")
    result = run("sops", "accept", str(suggestions), "--sop", str(sop_path))
    assert result.exit_code == 2 and "counter_example_is_example" in result.output
    assert not (tmp_path / "returns.v2.yaml").exists()
