"""A coach in a real browser: signs in, opens the riskiest conversation from the queue, overturns a step verdict
with a comment, and the verdict is in the database; the Chinese call and the agreement page render too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from auditor.api.app import create_app
from auditor.store.database import open_store
from auditor.store.tables import StepReviewRow
from tests.browser.conftest import LiveServer
from tests.review.conftest import KEY, review_settings, seed

pytestmark = pytest.mark.browser


def test_coach_records_a_verdict_in_the_browser(browser, screenshots: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = review_settings(tmp_path)
    audit_ids = seed(settings.database_url)
    timings: dict[str, float] = {}
    with LiveServer(create_app(settings)) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))

        page.goto(f"{base}/review")
        assert "/review/login" in page.url  # not signed in: the pages ask for a name and key first
        page.fill("#reviewer", "Mei Lin")
        page.fill("#key", KEY)
        started = time.perf_counter()
        page.click("button[type=submit]")
        page.wait_for_selector("table.queue")
        timings["queue"] = time.perf_counter() - started
        rows = page.locator("table.queue tr[data-audit]")
        assert rows.count() == 3
        page.screenshot(path=str(screenshots / "review-queue.png"), full_page=True)
        assert "critical step missed: verify" in rows.first.inner_text()  # riskiest first
        assert "en-good" in rows.last.inner_text()  # the compliant call last

        started = time.perf_counter()
        page.click(f"a[href^='/review/audits/{audit_ids['en-no-verify']}']")
        page.wait_for_selector("form#verdicts")
        timings["conversation"] = time.perf_counter() - started
        assert page.locator(".marker.m-missing[data-step=verify]").count() == 1  # where verify should have been
        assert page.locator(".turn[data-steps~=greet]").count() == 1  # evidence highlighted
        page.click(".stepcard[data-step=verify] button.focus")
        assert page.evaluate("document.body.getAttribute('data-focus')") == "verify"
        page.screenshot(path=str(screenshots / "review-conversation-en.png"), full_page=True)

        card = page.locator(".stepcard[data-step=verify]")
        card.locator("input[value=overturn]").check()
        card.locator("select").select_option("done")
        card.locator("input[type=number]").fill("2")
        card.locator("textarea").fill("Asking the birth town is our security question too.")
        page.locator(".stepcard[data-step=greet] input[value=confirm]").check()
        page.click(".savebar button[type=submit]")
        page.wait_for_selector(".notice.ok")
        assert "2" in page.locator(".notice.ok").inner_text()
        assert page.locator(".stepcard[data-step=verify] input[value=overturn]").is_checked()
        page.screenshot(path=str(screenshots / "review-conversation-saved.png"), full_page=True)

        started = time.perf_counter()
        page.goto(f"{base}/review/audits/{audit_ids['zh-call']}?ui=zh")
        page.wait_for_selector("form#verdicts")
        timings["conversation_zh"] = time.perf_counter() - started
        assert "保存复核结论" in page.inner_text(".savebar")
        assert "我要投诉" in page.inner_text(".transcript")
        page.screenshot(path=str(screenshots / "review-conversation-zh.png"), full_page=True)

        page.goto(f"{base}/review/agreement?ui=en")
        assert "verify" in page.inner_text("table.agreement-auditor")
        page.screenshot(path=str(screenshots / "review-agreement.png"), full_page=True)
        page.close()

    assert all(url.startswith(base) for url in requests), [u for u in requests if not u.startswith(base)]
    store = open_store(settings.database_url)
    with store.session() as session:
        stored = {row.step_id: row for row in session.scalars(select(StepReviewRow))}
    store.close()
    assert set(stored) == {"verify", "greet"}
    assert stored["verify"].reviewer == "Mei Lin"
    assert (stored["verify"].verdict, stored["verify"].coach_status, stored["verify"].turn_index) == (
        "overturned",
        "done",
        2,
    )
    assert stored["verify"].comment == "Asking the birth town is our security question too."
    assert stored["greet"].coach_status == "done"
    (screenshots / "review-timings.txt").write_text(
        "".join(f"{name}: {seconds * 1000:.0f} ms\n" for name, seconds in timings.items()), encoding="utf-8"
    )
