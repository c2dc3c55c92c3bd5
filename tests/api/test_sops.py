"""SOPs: list, fetch, and validate one sent in the body as JSON or YAML."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app
from auditor.sop.loading import SopError, sop_from_text
from tests.api.conftest import HEADERS

YAML = {"content-type": "application/yaml"}
JSON = {"content-type": "application/json"}


def test_list_and_fetch_sops(client):
    listed = {sop["id"]: sop for sop in client.get("/v1/sops", headers=HEADERS).json()}
    assert {"complaint-handling", "bank-phone-service", "card-check"} <= set(listed)
    assert listed["card-check"]["steps"] == ["greet", "verify", "discuss", "close"]
    sop = client.get("/v1/sops/card-check", headers=HEADERS).json()
    assert sop["steps"][1]["critical"] is True and sop["steps"][1]["before"] == ["discuss"]
    missing = client.get("/v1/sops/nope", headers=HEADERS)
    assert missing.status_code == 404 and "card-check" in missing.json()["error"]["message"]


def test_validate_a_good_sop_as_json(client):
    sop = {"id": "mini", "name": "Mini", "steps": [{"id": "greet", "name": "Greet", "keywords": ["hello"]}]}
    assert client.post("/v1/sops/validate", json=sop, headers=HEADERS).json() == {
        "valid": True,
        "sop_id": "mini",
        "steps": 1,
        "problems": [],
    }


def test_validate_names_every_problem_by_step_and_field(client):
    body = "id: mini\nname: Mini\nsteps:\n  - id: a\n    name: A\n    before: [zz]\n  - id: a\n    name: B\n"
    result = client.post("/v1/sops/validate", content=body, headers=HEADERS | YAML).json()
    assert result["valid"] is False
    fields = {(p["step_id"], p["field"]) for p in result["problems"]}
    assert ("a", "before") in fields
    assert len(result["problems"]) >= 2


def test_unreadable_or_wrongly_typed_bodies_are_clear_4xx(client):
    broken = client.post("/v1/sops/validate", content="id: [unclosed", headers=HEADERS | YAML)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "unreadable_sop"
    listed = client.post("/v1/sops/validate", json=["not", "a", "mapping"], headers=HEADERS)
    assert listed.status_code == 422
    xml = client.post("/v1/sops/validate", content="<sop/>", headers=HEADERS | {"content-type": "application/xml"})
    assert xml.status_code == 415


def test_yaml_aliases_are_refused_so_a_small_body_cannot_expand(client):
    bomb = 'a: &a ["x", "x"]\nb: &b [*a, *a]\nc: &c [*b, *b]\nid: bomb\nname: B\nsteps: [{id: s, name: S}]\n'
    response = client.post("/v1/sops/validate", content=bomb, headers=HEADERS | YAML)
    assert response.status_code == 400
    assert "aliases" in response.json()["error"]["message"]


def test_deep_or_invalid_text_bodies_are_4xx_not_500(client):
    deep_json = '{"id": ' + "[" * 990 + "]" * 990 + "}"  # past the parser's recursion limit: once a 500
    assert client.post("/v1/sops/validate", content=deep_json, headers=HEADERS | JSON).status_code == 400
    deep_yaml = "id: " + "[" * 700 + "]" * 700  # PyYAML recurses sooner than json
    response = client.post("/v1/sops/validate", content=deep_yaml, headers=HEADERS | YAML)
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]["message"]
    for body, headers in (('{"id": "\\ud800", "name": "x"}', JSON), ('id: "\\ud800"\nname: x\n', YAML)):
        refused = client.post("/v1/sops/validate", content=body, headers=HEADERS | headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["message"].startswith("id: unpaired surrogate U+D800")
    not_a_date = client.post("/v1/sops/validate", content="id: !!timestamp 2024-13-45\n", headers=HEADERS | YAML)
    assert not_a_date.status_code == 400


FORBIDDEN_SOP = """\
id: cards
name: Cards
steps:
  - id: freeze_card
    name: Freeze the card
    examples: ["I've frozen your card.", "已经帮您把卡冻结了。"]
    counter_examples: ["I can't freeze your card over the phone.", "挂失冻结需要您本人到网点柜台办理。"]
  - id: promise_guarantee
    name: Never guarantee a refund
    forbidden: true
    critical: true
    examples: ["I guarantee you'll get your money back.", "我保证一定给您退款。"]
"""


def test_validate_accepts_forbidden_steps_and_counter_examples(client):
    result = client.post("/v1/sops/validate", content=FORBIDDEN_SOP, headers=HEADERS | YAML).json()
    assert result == {"valid": True, "sop_id": "cards", "steps": 2, "problems": []}
    as_json = yaml.safe_load(FORBIDDEN_SOP)
    assert client.post("/v1/sops/validate", json=as_json, headers=HEADERS).json()["valid"] is True


def test_validate_reports_the_new_rules_exactly_as_the_cli_does(client, tmp_path):
    broken = FORBIDDEN_SOP.replace(
        '"挂失冻结需要您本人到网点柜台办理。"]', '"已經幫您把卡凍結了"]\n    before: [promise_guarantee]'
    ).replace("    critical: true\n", "    critical: true\n    within_first_turns: 2\n    when: customer_complaint\n")
    result = client.post("/v1/sops/validate", content=broken, headers=HEADERS | YAML).json()
    assert result["valid"] is False
    api = {(p["code"], p["step_id"], p["field"], p["message"]) for p in result["problems"]}
    assert {code for code, *_ in api} == {"counter_example_is_example", "forbidden_step_rule", "before_forbidden_step"}
    with pytest.raises(SopError) as caught:
        sop_from_text(broken)
    assert api == {(p.code, p.step_id, p.field, p.message) for p in caught.value.problems}
    path = tmp_path / "cards.yaml"
    path.write_text(broken, encoding="utf-8")
    cli = CliRunner().invoke(app, ["check-sop", str(path)])
    assert cli.exit_code == 1
    printed = " ".join(cli.output.split())
    assert all(" ".join(message.split()) in printed for *_, message in api)


def test_fetched_sops_carry_the_new_fields(client):
    step = client.get("/v1/sops/card-check", headers=HEADERS).json()["steps"][0]
    assert step["forbidden"] is False and step["counter_examples"] == []
