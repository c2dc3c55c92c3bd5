"""/docs in a real browser with every request off this machine refused: Swagger UI renders the API from assets the
server ships (the fastapi-offline package), and no other site can frame the review pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.api.app import create_app
from tests.browser.conftest import LiveServer
from tests.review.conftest import review_settings

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_offline_and_pages_cannot_be_framed(browser, screenshots: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with LiveServer(create_app(review_settings(tmp_path))) as base:
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        outside: list[str] = []

        def only_loopback(route, request) -> None:  # type: ignore[no-untyped-def]
            if request.url.startswith(base) or request.url.startswith(("data:", "blob:", "about:")):
                route.continue_()
            else:
                outside.append(request.url)
                route.abort()  # as on a machine without internet

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.goto(f"{base}/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        summaries = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/v1/audit" in summaries and "/v1/sessions/{session_id}/turns" in summaries
        assert outside == []
        page.screenshot(path=str(screenshots / "docs-offline.png"))

        # another site framing the coach's login page: the browser refuses to show it
        framing = context.new_page()
        framing.route("http://evil.example/", lambda route: route.fulfill(
            content_type="text/html", body=f'<iframe id="f" src="{base}/review/login"></iframe>'
        ))
        framing.goto("http://evil.example/")
        framing.wait_for_timeout(1000)
        frame = framing.frame_locator("#f")
        assert frame.locator("#reviewer").count() == 0
        context.close()
