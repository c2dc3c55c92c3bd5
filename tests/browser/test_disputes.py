"""An agent and two coaches in a real browser: the agent sees only her own reviewed conversation, disputes a verdict
with a comment; the coach whose verdict it is cannot resolve it; a second coach overturns it; the agent sees that."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.api.app import create_app
from auditor.api.settings import hash_key
from auditor.review.coach_verdicts import StepVerdict, record_verdicts
from auditor.store.database import open_store
from tests.browser.conftest import LiveServer
from tests.review.conftest import KEY, review_settings, seed

pytestmark = pytest.mark.browser

PEOPLE = f"""
people:
  - {{name: Mei Lin, role: coach}}
  - {{name: Li Na, role: coach, key: "sha256:{hash_key("li-key")}"}}
  - {{name: Ana Ruiz, role: agent, agent_id: a-9, key: "sha256:{hash_key("ana-key")}"}}
"""


def test_agent_disputes_and_a_second_coach_overturns(browser, screenshots: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    people = tmp_path / "people.yaml"
    people.write_text(PEOPLE, encoding="utf-8")
    settings = review_settings(tmp_path, people_file=people)
    ids = seed(settings.database_url)
    store = open_store(settings.database_url)
    with store.session() as session:  # Mei's review of Ana's call: verify was done at turn 2
        verdicts = [StepVerdict(step_id="verify", verdict="overturn", status="done", turn_index=2, comment="town")]
        record_verdicts(session, ids["en-no-verify"], "Mei Lin", verdicts)
        record_verdicts(session, ids["en-good"], "Mei Lin", [StepVerdict(step_id="greet", verdict="confirm")])
    store.close()

    def signed_in(base: str, name: str, key: str):  # type: ignore[no-untyped-def]
        page = browser.new_context(viewport={"width": 1300, "height": 900}, locale="en-GB").new_page()
        page.goto(f"{base}/review")
        page.fill("#reviewer", name)
        page.fill("#key", key)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    with LiveServer(create_app(settings)) as base:
        ana = signed_in(base, "Ana Ruiz", "ana-key")
        assert ana.url.split("?")[0] == f"{base}/review/my"  # an agent lands on her own reviews
        rows = ana.locator("table.my-reviews tr a")
        assert rows.all_inner_texts() == ["en-no-verify"]  # not en-good (agent a-7), not the unreviewed zh-call
        assert ana.locator("header nav").inner_text().strip() == "My reviews"
        ana.screenshot(path=str(screenshots / "disputes-agent-list.png"), full_page=True)

        ana.goto(f"{base}/review/my/{ids['en-good']}")  # another agent's conversation, by its address
        assert "Not found" in ana.locator("h1").inner_text()
        assert "Goodbye from Acme" not in ana.content()
        ana.goto(f"{base}/review/audits/{ids['en-good']}")  # the coaches' page: sent back to her own
        assert ana.url.split("?")[0] == f"{base}/review/my"

        ana.click("text=en-no-verify")
        card = ana.locator("section.step-answer[data-step=verify]")
        assert "not answered" in card.inner_text() and "Mei Lin" in card.inner_text()
        card.locator("textarea").fill("I asked her birth town; that is not our security question.")
        card.locator("button[value=disputed]").click()
        ana.wait_for_selector(".notice.ok")
        assert "Dispute sent" in ana.locator(".notice.ok").inner_text()
        card = ana.locator("section.step-answer[data-step=verify]")
        assert "disputed" in card.locator(".state").first.inner_text()
        assert card.locator("button[value=disputed]").count() == 0  # answered once
        ana.screenshot(path=str(screenshots / "disputes-agent-disputed.png"), full_page=True)

        mei = signed_in(base, "Mei Lin", KEY)
        mei.goto(f"{base}/review/disputes")
        item = mei.locator("section.dispute[data-step=verify]")
        assert "that is not our security question" in item.inner_text()
        assert item.locator("button").count() == 0 and "Your own verdict" in item.inner_text()
        mei.screenshot(path=str(screenshots / "disputes-own-verdict.png"), full_page=True)

        li = signed_in(base, "Li Na", "li-key")
        li.goto(f"{base}/review/disputes")
        item = li.locator("section.dispute[data-step=verify]")
        assert "Ana Ruiz" in item.inner_text()
        assert item.locator("select[name=status]").input_value() == "missing"  # the opposite of Mei's 'done'
        item.locator("textarea").fill("Agreed: the SOP asks for the date of birth.")
        li.screenshot(path=str(screenshots / "disputes-queue.png"), full_page=True)
        item.locator("button[value=overturned]").click()
        li.wait_for_selector(".notice.ok")
        assert "overturned" in li.locator(".notice.ok").inner_text()
        assert "No open disputes." in li.content()
        assert "Li Na" in li.locator("section.resolved").inner_text()
        li.screenshot(path=str(screenshots / "disputes-resolved.png"), full_page=True)

        ana.goto(f"{base}/review/my/{ids['en-no-verify']}")
        card = ana.locator("section.step-answer[data-step=verify]")
        text = card.inner_text()
        assert "overturned" in text and "Li Na" in text and "Agreed: the SOP asks for the date of birth." in text
        history = card.locator("ol.history li").all_inner_texts()
        assert len(history) == 2 and "Ana Ruiz" in history[0] and "Li Na" in history[1]
        ana.screenshot(path=str(screenshots / "disputes-agent-overturned.png"), full_page=True)
