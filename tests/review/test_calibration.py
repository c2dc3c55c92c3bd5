"""Calibration sessions: Fleiss' kappa against Fleiss (1971)'s worked example, blind review, results for three
coaches, and calibration verdicts kept apart from the everyday ones."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from auditor.review.agreement import agreement_report, cohens_kappa, fleiss_kappa
from auditor.review.calibration import (
    CalibrationError,
    CalibrationVerdict,
    NewCalibration,
    NotAllowedError,
    calibration_report,
    close_calibration,
    consensus_of,
    create_calibration,
    own_verdicts,
    record_calibration_verdicts,
)
from auditor.store.database import open_store
from auditor.store.tables import AuditRow, StepReviewRow
from tests.review.conftest import HEADERS, login

# Wikipedia's "Fleiss' kappa" worked example: 10 subjects, 14 raters each, 5 categories; kappa 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def _labels(row: list[int]) -> list[str]:
    return [f"c{category}" for category, count in enumerate(row) for _ in range(count)]


def test_fleiss_kappa_matches_the_textbook_example() -> None:
    assert fleiss_kappa([_labels(row) for row in FLEISS_TABLE]) == pytest.approx(0.210, abs=0.0005)


def test_fleiss_kappa_edges_and_two_raters() -> None:
    assert fleiss_kappa([["done", "done", "done"], ["missing", "missing", "missing"]]) == 1.0
    assert fleiss_kappa([["done", "done"], ["done", "done"]]) is None  # one status throughout: undefined
    assert fleiss_kappa([["done"]]) is None  # one rater is no agreement
    # two raters: Fleiss' kappa is Scott's pi, close to (not equal to) Cohen's kappa
    pairs = [("done", "done"), ("done", "missing"), ("missing", "missing"), ("missing", "missing")]
    assert fleiss_kappa([list(p) for p in pairs]) == pytest.approx(0.4667, abs=1e-4)
    assert cohens_kappa(pairs) == pytest.approx(0.5)
    assert consensus_of(["done", "done", "missing"]) == "done"
    assert consensus_of(["done", "missing"]) is None


COACHES = ["Mei", "Ravi", "Ana"]
# (coach, conversation, step) -> status; Ana disagrees on verify in en-no-verify and on close in en-good.
STATUSES = {
    "en-good": {
        "greet": ("done", "done", "done"),
        "verify": ("done", "done", "done"),
        "discuss": ("done", "done", "done"),
        "close": ("done", "done", "missing"),
    },
    "en-no-verify": {
        "greet": ("done", "done", "done"),
        "verify": ("done", "done", "missing"),
        "discuss": ("done", "done", "done"),
        "close": ("done", "done", "done"),
    },
}


def _verdicts(conversation: str, coach: int) -> list[CalibrationVerdict]:
    return [
        CalibrationVerdict(step_id=step, status=statuses[coach], comment=f"{COACHES[coach]} on {step}")  # type: ignore[arg-type]
        for step, statuses in STATUSES[conversation].items()
    ]


def test_three_coaches_blind_then_kappa_and_disagreements(settings, audit_ids) -> None:  # type: ignore[no-untyped-def]
    store = open_store(settings.database_url)
    ids = [audit_ids["en-good"], audit_ids["en-no-verify"]]
    with store.session() as session:
        row = create_calibration(
            session, NewCalibration(name="March", created_by="Lead", coaches=COACHES, audit_ids=ids)
        )
        sid = row.id
        for coach_number, coach in enumerate(COACHES):
            for conversation in STATUSES:
                record_calibration_verdicts(
                    session, sid, audit_ids[conversation], coach, _verdicts(conversation, coach_number)
                )
        # blind: each coach reads back their own eight verdicts and nobody else's
        assert {v.coach for v in own_verdicts(session, sid, "Ana")} == {"Ana"}
        assert len(own_verdicts(session, sid, "Ana")) == 8
        with pytest.raises(NotAllowedError):  # not one of the session's coaches
            record_calibration_verdicts(session, sid, ids[0], "Zoe", _verdicts("en-good", 0))
        with pytest.raises(CalibrationError, match="not in calibration session"):
            record_calibration_verdicts(session, sid, audit_ids["zh-call"], "Mei", _verdicts("en-good", 0))
        with pytest.raises(NotAllowedError, match="lead"):
            close_calibration(session, sid, "Mei")

        report = calibration_report(session, sid)
        assert report.items == 8
        assert report.kappa is not None and -1 <= report.kappa < 1  # two disagreements out of 24 statuses
        assert report.kappa == fleiss_kappa([list(s) for c in STATUSES.values() for s in c.values()])
        steps = {s.step_id: s for s in report.steps}
        assert steps["greet"].kappa is None  # everyone said done both times: undefined, not 1
        assert steps["verify"].unanimous == 0.5
        pairs = {(p.first, p.second): p for p in report.pairs}
        assert pairs[("Mei", "Ravi")].accuracy == 1.0
        assert pairs[("Mei", "Ana")].n == 8 and pairs[("Mei", "Ana")].accuracy == 0.75
        coaches = {c.coach: c for c in report.coaches}
        assert coaches["Mei"].with_consensus == 1.0 and coaches["Ana"].with_consensus == 0.75
        assert coaches["Ana"].auditor.n + coaches["Ana"].auditor.undecided == 8
        found = {(d.conversation_id, d.step_id): d for d in report.disagreements}
        assert set(found) == {("en-good", "close"), ("en-no-verify", "verify")}
        verify = found[("en-no-verify", "verify")]
        assert verify.consensus == "done"
        assert verify.verdicts["Ana"].status == "missing" and verify.verdicts["Ana"].comment == "Ana on verify"
        assert report.missing == {}

        close_calibration(session, sid, "Lead")
        with pytest.raises(NotAllowedError, match="closed"):
            record_calibration_verdicts(session, sid, ids[0], "Mei", _verdicts("en-good", 0))

        # calibration verdicts stay apart: no everyday review, the audit's outcome and the agreement report unchanged
        assert session.scalar(select(func.count()).select_from(StepReviewRow)) == 0
        assert agreement_report(session).reviews == 0
        assert session.get_one(AuditRow, audit_ids["en-no-verify"]).outcome == "failed"
    store.close()


def test_the_json_api_keeps_coaches_blind_and_results_for_the_lead(client: TestClient, audit_ids) -> None:  # type: ignore[no-untyped-def]
    ids = [audit_ids["en-good"], audit_ids["en-no-verify"]]
    body = {"name": "API", "created_by": "Lead", "coaches": COACHES, "audit_ids": ids}
    created = client.post("/v1/review/calibration", json=body, headers=HEADERS)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.json()["coaches"] == COACHES and created.json()["steps"] == 8
    assert client.post("/v1/review/calibration", json=body).status_code == 401  # the API key is needed

    bad = client.post("/v1/review/calibration", json=body | {"audit_ids": [999999]}, headers=HEADERS)
    assert bad.status_code == 422 and "audit_ids[0]: no audit 999999" in bad.text

    for number, coach in enumerate(COACHES):
        for conversation in STATUSES:
            verdicts = [v.model_dump() for v in _verdicts(conversation, number)]
            sent = {"coach": coach, "audit_id": audit_ids[conversation], "verdicts": verdicts}
            answer = client.post(f"/v1/review/calibration/{sid}/verdicts", json=sent, headers=HEADERS)
            assert answer.status_code == 200, answer.text
            assert {v["coach"] for v in answer.json()} == {coach}  # the answer carries only this coach's verdicts
    mine = client.get(f"/v1/review/calibration/{sid}/verdicts?coach=Ana", headers=HEADERS).json()
    assert len(mine) == 8 and {v["coach"] for v in mine} == {"Ana"}

    early = client.get(f"/v1/review/calibration/{sid}/results?coach=Mei", headers=HEADERS)
    assert early.status_code == 409 and "Lead" in early.text
    lead = client.get(f"/v1/review/calibration/{sid}/results?coach=Lead", headers=HEADERS)
    assert lead.status_code == 200 and lead.json()["kappa"] is not None

    assert client.post(f"/v1/review/calibration/{sid}/close", json={"coach": "Mei"}, headers=HEADERS).status_code == 403
    assert client.post(f"/v1/review/calibration/{sid}/close", json={"coach": "Lead"}, headers=HEADERS).json()["closed"]
    results = client.get(f"/v1/review/calibration/{sid}/results?coach=Mei", headers=HEADERS).json()
    assert len(results["disagreements"]) == 2
    assert client.get("/v1/review/calibration/424242", headers=HEADERS).status_code == 404


def test_the_pages_hide_other_coaches_and_the_auditor_until_closed(client: TestClient, audit_ids) -> None:  # type: ignore[no-untyped-def]
    login(client, "Lead")
    page = client.get("/review/calibration")
    assert page.status_code == 200 and "en-no-verify" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    ids = [audit_ids["en-good"], audit_ids["en-no-verify"]]
    form = {"csrf": csrf, "name": "Pages", "coaches": "Mei, Ravi, Ana", "audit": [str(i) for i in ids]}
    form["hide_auditor"] = "on"
    assert client.post("/review/calibration", data=form | {"csrf": "forged"}).status_code == 403
    created = client.post("/review/calibration", data=form, follow_redirects=False)
    assert created.status_code == 303
    session_url = created.headers["location"].split("?")[0]
    sid = session_url.rsplit("/", 1)[1]

    login(client, "Ravi")
    page = client.get(f"{session_url}/audits/{ids[1]}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    sent = {"csrf": csrf, "s-verify": "done", "c-verify": "Ravi thinks the birth town counts", "s-greet": "done"}
    assert client.post(f"{session_url}/audits/{ids[1]}", data=sent).status_code == 200

    login(client, "Ana")
    page = client.get(f"{session_url}/audits/{ids[1]}")
    assert page.status_code == 200
    assert "birth town counts" not in page.text  # another coach's comment is never shown while open
    assert "hidden until the session is closed" in page.text
    assert 'class="small auditor"' not in page.text  # nor the auditor's verdicts
    assert client.get(f"{session_url}/results").status_code == 403  # results wait for the lead
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    sent = {"csrf": csrf, "s-verify": "missing", "c-verify": "no DOB"}
    saved = client.post(f"{session_url}/audits/{ids[1]}", data=sent)
    assert "1 verdict(s) saved" in saved.text

    login(client, "Lead")
    results = client.get(f"{session_url}/results")
    assert results.status_code == 200
    assert "Fleiss" in results.text and "Disagreements to discuss" in results.text
    assert "birth town counts" in results.text and "no DOB" in results.text
    page = client.get(f"/review/calibration/{sid}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert client.post(f"{session_url}/close", data={"csrf": csrf}).status_code == 200
    login(client, "Ana")
    assert client.get(f"{session_url}/results").status_code == 200  # closed: everyone sees them
    assert "不适用" in client.get(f"{session_url}/audits/{ids[1]}?ui=zh").text  # the page in Chinese
