"""Browser tests: Playwright (Python) driving Debian's Chromium against the app served on loopback.

Playwright cannot download its own browsers here, so it launches /usr/bin/chromium
(`apt-get install chromium`; `.ci/run` installs it). In CI the tests must run; elsewhere
they skip with one message when Chromium or axe-core (`npm ci --prefix tests/js`) is missing.

`look(page, name)` is called on every page a journey reaches: axe-core finds no serious
or critical violation, the page logged no error (a Content-Security-Policy refusal is
one), and screenshots at phone and desktop width go to tests/artifacts/ (not committed).
"""

import os
from pathlib import Path

import pytest

from tests.browser.support import AXE, WIDTHS
from tests.stripe_double import LiveServer

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser():
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE.exists():
        missing.append("axe-core (npm ci --prefix tests/js)")
    if missing:
        message = "Browser tests skipped: they need " + " and ".join(missing) + "."
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: " + message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def open_browser(browser):
    """open_browser(javascript=True, timezone=…, locale=…) -> a new page in a fresh context (its own cookies)."""
    contexts = []

    def open_page(javascript: bool = True, timezone: str = "America/Chicago", locale: str = "en-US"):
        width, height = WIDTHS["desktop"]
        context = browser.new_context(
            java_script_enabled=javascript,
            timezone_id=timezone,
            locale=locale,
            viewport={"width": width, "height": height},
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.javascript = javascript
        page.errors = []
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def live_app(app):
    """The app served from a thread on a loopback port; links in emails point at it."""
    server = LiveServer(app).start()
    app.config["PUBLIC_BASE_URL"] = server.url
    app.live_url = server.url
    yield app
    server.stop()
