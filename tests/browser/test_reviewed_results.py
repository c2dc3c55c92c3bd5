"""A coach in a real browser overturns the critical step of a call the auditor passed: the conversation page and the
queue then show it failed and reviewed, with the auditor's "passed · 1.00" kept beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.api.app import create_app
from tests.browser.conftest import LiveServer
from tests.review.conftest import KEY, review_settings, seed

pytestmark = pytest.mark.browser


def test_an_overturned_critical_step_fails_the_call_on_the_page_and_in_the_queue(  # type: ignore[no-untyped-def]
    browser, screenshots: Path, tmp_path: Path
) -> None:
    settings = review_settings(tmp_path)
    audit_id = seed(settings.database_url)["en-good"]
    with LiveServer(create_app(settings)) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
        page.goto(f"{base}/review/login?ui=en")
        page.fill("#reviewer", "Mei Lin")
        page.fill("#key", KEY)
        page.click("button[type=submit]")
        page.wait_for_selector("table.queue")

        page.goto(f"{base}/review/audits/{audit_id}?ui=en")
        page.wait_for_selector("form#verdicts")
        assert page.inner_text("#final-outcome") == "passed · 1.00"
        assert page.locator(".summary .reviewed-badge").count() == 0  # nobody reviewed it yet

        card = page.locator(".stepcard[data-step=verify]")
        card.locator("input[value=overturn]").check()
        card.locator("select").select_option("missing")
        card.locator("textarea").fill("The date of birth was asked but never checked.")
        page.click(".savebar button[type=submit]")
        page.wait_for_selector(".notice.ok")

        assert page.inner_text("#final-outcome") == "failed · 0.75"
        assert page.get_attribute("#final-outcome", "data-outcome") == "failed"
        assert page.locator(".summary .reviewed-badge").inner_text() == "reviewed"
        assert page.inner_text("#automatic-outcome") == "auditor: passed · 1.00"
        final_line = page.locator(".stepcard[data-step=verify] .final-line")
        assert "final: missing" in final_line.inner_text()
        page.screenshot(path=str(screenshots / "reviewed-result-conversation.png"), full_page=True)

        page.goto(f"{base}/review?state=reviewed&ui=en")
        row = page.locator(f"table.queue tr[data-audit='{audit_id}']")
        assert row.get_attribute("data-outcome") == "failed"
        outcome = row.locator("td.final").inner_text().lower()  # the outcome chip is in capitals
        assert "failed" in outcome and "reviewed" in outcome and "auditor: passed · 1.00" in outcome
        assert "0.75" in row.inner_text()
        page.screenshot(path=str(screenshots / "reviewed-result-queue.png"), full_page=True)
        page.close()
