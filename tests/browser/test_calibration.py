"""A calibration session in a real browser: a lead opens it on two conversations for three coaches, each coach
reviews blind (never seeing another's comment or the auditor's verdicts), and the results page shows Fleiss' kappa
and the disagreements to discuss."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.api.app import create_app
from tests.browser.conftest import LiveServer
from tests.review.conftest import KEY, review_settings, seed

pytestmark = pytest.mark.browser

# coach -> conversation -> step -> (status, comment); Ana finds verify missing, Ravi finds close missing in en-good.
REVIEWS = {
    "Mei": {
        "en-good": {"greet": ("done", ""), "verify": ("done", ""), "discuss": ("done", ""), "close": ("done", "")},
        "en-no-verify": {
            "greet": ("done", ""),
            "verify": ("done", "Birth town is a security question"),
            "discuss": ("done", ""),
            "close": ("done", ""),
        },
    },
    "Ravi": {
        "en-good": {
            "greet": ("done", ""),
            "verify": ("done", ""),
            "discuss": ("done", ""),
            "close": ("missing", "No goodbye said, only asked"),
        },
        "en-no-verify": {"greet": ("done", ""), "verify": ("done", ""), "discuss": ("done", ""), "close": ("done", "")},
    },
    "Ana": {
        "en-good": {"greet": ("done", ""), "verify": ("done", ""), "discuss": ("done", ""), "close": ("done", "")},
        "en-no-verify": {
            "greet": ("done", ""),
            "verify": ("missing", "Not the date of birth the SOP asks for"),
            "discuss": ("done", ""),
            "close": ("done", ""),
        },
    },
}


def _sign_in(page, base: str, name: str, target: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto(f"{base}{target}")
    assert "/review/login" in page.url
    page.fill("#reviewer", name)
    page.fill("#key", KEY)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_three_coaches_calibrate_blind_and_see_kappa(browser, screenshots: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = review_settings(tmp_path)
    audit_ids = seed(settings.database_url)
    with LiveServer(create_app(settings)) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-GB")
        _sign_in(page, base, "Lead", "/review/calibration")
        page.fill("#cal-name", "March calibration")
        page.fill("#cal-coaches", "Mei, Ravi, Ana")
        page.check(f"#pick-{audit_ids['en-good']}")
        page.check(f"#pick-{audit_ids['en-no-verify']}")
        assert page.is_checked("input[name=hide_auditor]")  # blind to the auditor by default
        page.screenshot(path=str(screenshots / "calibration-new.png"), full_page=True)
        page.click("#new-calibration button[type=submit]")
        page.wait_for_selector("table.cal-conversations")
        session_url = page.url.split("?")[0]
        assert page.locator("table.cal-conversations tr[data-audit]").count() == 2

        for coach, conversations in REVIEWS.items():
            _sign_in(page, base, coach, session_url.removeprefix(base))
            for conversation, steps in conversations.items():
                page.click(f"tr[data-audit='{audit_ids[conversation]}'] a")
                page.wait_for_selector("form#calibration-verdicts")
                text = page.inner_text("body")
                assert "you see only your own verdicts" in text
                assert page.locator(".auditor").count() == 0  # the automatic verdicts are hidden
                for other, reviews in REVIEWS.items():  # no other coach's comment shows
                    for status_comment in reviews[conversation].values():
                        if other != coach and status_comment[1]:
                            assert status_comment[1] not in text
                for step, (status, comment) in steps.items():
                    card = page.locator(f".stepcard[data-step={step}]")
                    card.locator("select").select_option(status)
                    if comment:
                        card.locator("textarea").fill(comment)
                if coach == "Ana" and conversation == "en-no-verify":
                    page.screenshot(path=str(screenshots / "calibration-review-blind.png"), full_page=True)
                page.click(".savebar button[type=submit]")
                page.wait_for_selector(".notice.ok")
                assert "4 verdict(s) saved" in page.inner_text(".notice.ok")
                page.goto(session_url)
            page.goto(f"{session_url}/results")
            assert "closes the session" in page.inner_text("main")  # results wait for the lead

        _sign_in(page, base, "Lead", session_url.removeprefix(base))
        assert "8 / 8" in page.inner_text("table.cal-progress")
        page.click("#close-calibration button")
        page.wait_for_selector("#overall")
        kappa = page.locator("#overall .kappa").inner_text()
        assert kappa.replace("-", "").replace(".", "").isdigit(), kappa  # a number, not "–"
        assert -1.0 <= float(kappa) < 1.0
        assert "Fleiss" in page.inner_text("#overall")
        rows = page.locator("table.cal-disagreements tr[data-step]")
        assert rows.count() == 2
        disagreements = page.inner_text("table.cal-disagreements")
        assert "Not the date of birth the SOP asks for" in disagreements
        assert "No goodbye said, only asked" in disagreements
        verify = page.locator(f"table.cal-disagreements tr[data-audit='{audit_ids['en-no-verify']}'][data-step=verify]")
        assert "missing" in verify.locator("td[data-coach=Ana]").inner_text()
        assert page.locator("table.cal-pairs tr").count() == 4  # a header and three pairs of coaches
        assert page.locator("table.cal-coaches tr[data-coach]").count() == 3
        page.screenshot(path=str(screenshots / "calibration-results.png"), full_page=True)

        _sign_in(page, base, "Ana", f"{session_url.removeprefix(base)}/results?ui=zh")  # closed: everyone sees them
        assert "需要讨论的分歧" in page.inner_text("main")
        page.screenshot(path=str(screenshots / "calibration-results-zh.png"), full_page=True)
        page.close()
