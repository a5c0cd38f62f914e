"""Browser tests: a real store server on 127.0.0.1 with real data, driven in the OS's Chromium.

Chromium comes from the OS packages (``apt-get install chromium``; .ci/run installs it) and is
launched by Playwright from that path: no browser is ever downloaded. Without it the tests skip
locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "store"))

from store_helpers import start_server, stop  # noqa: E402
from webapp_helpers import CHROMIUM, LAUNCH_ARGS, Site, seed_store  # noqa: E402

from neptune_sync.wire.token import secret_of  # noqa: E402


def _need_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + "; CI must run the browser tests")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one module: Playwright's sync API holds an event loop while it runs, which
    must be gone before any asyncio test of another module starts."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, browser):
    """A live store seeded with the runs the browser tests look at."""
    data = tmp_path_factory.mktemp("webapp-store")
    proc, url = start_server(data, "--token-project", "ws/proj", "--token-file", str(data / "token"))
    try:
        token = (data / "token").read_text().strip()
        yield Site(url, token, seed_store(url, token))
    finally:
        stop(proc)


@pytest.fixture
def page(browser, site):
    """A fresh browser context per test; any console error or page error fails the test, and so
    does the token (or its secret) in any URL the page requests."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.set_default_timeout(15_000)
    page.console_errors = errors  # tests that expect a refusal clear the matching entries
    yield page
    context.close()
    assert errors == [], errors
    secret = secret_of(site.token)
    assert urls and not [u for u in urls if site.token in u or secret in u]
