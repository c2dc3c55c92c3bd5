"""Assignments and sampling in a real browser: a lead draws a sample for two coaches, a coach sees only their own
assignments and reviews one (it turns done), and the dashboard shows the estimated pass rate with its interval."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from auditor.api.app import create_app
from auditor.review.coach_verdicts import StepVerdict, record_verdicts
from auditor.review.sampling import assignments
from auditor.store.audits import save_result
from auditor.store.database import open_store
from tests.browser.conftest import LiveServer
from tests.review.conftest import KEY, review_settings, seed
from tests.review.test_sampling import _result

pytestmark = pytest.mark.browser


def _sign_in(browser, base: str, name: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    page.goto(f"{base}/review/assignments")
    page.fill("#reviewer", name)
    page.fill("#key", KEY)
    page.click("button[type=submit]")
    page.wait_for_selector("h2")  # the assignments page (the sign-in page has none)
    return page


def test_a_lead_samples_coaches_review_and_the_dashboard_shows_the_estimate(  # type: ignore[no-untyped-def]
    browser, screenshots: Path, tmp_path: Path
) -> None:
    settings = review_settings(tmp_path)
    seed(settings.database_url)  # the three card-check calls, with transcripts
    store = open_store(settings.database_url)
    rng = random.Random(11)
    with store.session() as session:
        for number in range(40):
            save_result(session, _result(number, fails=rng.random() < 0.3))
    with LiveServer(create_app(settings)) as base:
        lead = _sign_in(browser, base, "Lee Lead")
        lead.fill("form.draw input[name=coaches]", "Mei, Ana")
        lead.fill("form.draw input[name=size]", "12")
        lead.fill("form.draw input[name=random_share]", "0.5")
        lead.fill("form.draw input[name=seed]", "7")
        lead.click("form.draw button[type=submit]")
        lead.wait_for_selector(".notice.drawn")
        assert "Drew 12 of 43 conversations: 6 from the top of the queue, 6 at random (seed 7)" in lead.inner_text(
            ".notice.drawn"
        )
        rows = lead.locator("table.assignments tr[data-audit]")
        assert rows.count() == 12
        assert lead.locator("table.assignments tr[data-coach='Mei']").count() == 6
        assert lead.locator("table.assignments tr[data-how=random]").count() == 6
        listed = lead.inner_text("table.assignments")
        assert "risk-ranked" in listed and "random" in listed
        lead.screenshot(path=str(screenshots / "review-sample-drawn.png"), full_page=True)

        mei = _sign_in(browser, base, "Mei")
        mine = mei.locator("table.assignments tr[data-audit]")
        assert mine.count() == 6 and mei.locator("table.assignments tr[data-coach='Ana']").count() == 0
        assert mei.locator("table.assignments tr[data-done=yes]").count() == 0
        first = mine.first.get_attribute("data-audit")
        mine.first.locator("a").click()
        mei.wait_for_selector("form#verdicts")
        mei.locator(".stepcard[data-step=greet] input[value=confirm]").check()
        mei.click(".savebar button[type=submit]")
        mei.wait_for_selector(".notice.ok")
        mei.goto(f"{base}/review/assignments")
        assert mei.locator(f"table.assignments tr[data-audit='{first}']").get_attribute("data-done") == "yes"
        assert "done" in mei.inner_text(f"table.assignments tr[data-audit='{first}']")
        mei.screenshot(path=str(screenshots / "review-assignments-coach.png"), full_page=True)

        with store.session() as session:  # the coaches review the rest of the sample
            for item in assignments(session):
                if not item.done:
                    verdicts = [StepVerdict(step_id="greet", verdict="confirm")]
                    record_verdicts(session, item.audit_id, item.coach, verdicts)

        lead.goto(f"{base}/review/dashboard")
        estimate = lead.inner_text(".pass-estimate")
        match = re.search(r"(\d+)%\s*95% CI (\d+)%–(\d+)%", estimate)
        assert match, estimate
        value, low, high = (int(x) for x in match.groups())
        assert low <= value <= high and high - low >= 5  # an interval, not a bare number
        assert lead.locator(".pass-estimate svg.interval circle").count() == 1
        assert "biased" in lead.inner_text(".naive")
        assert "12 of 12 reviewed" in lead.inner_text("section.estimate")
        assert lead.locator("table.rates.steps tr[data-key=verify]").count() == 1
        assert lead.locator("table.rates.agents tr[data-key='a-9']").count() == 1
        lead.screenshot(path=str(screenshots / "review-dashboard.png"), full_page=True)
        lead.goto(f"{base}/review/dashboard?ui=zh")
        assert "通过率" in lead.inner_text(".pass-estimate")
        lead.screenshot(path=str(screenshots / "review-dashboard-zh.png"), full_page=True)
        lead.close()
        mei.close()
    store.close()
