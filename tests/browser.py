"""Debian's Chromium driven by Selenium through the system chromedriver,
for the browser tests: no browser is downloaded. axe-core comes from npm
(``make test`` installs it into .axe/, git-ignored).

A test that needs them is skipped when they are missing, unless
REVY_REQUIRE_BROWSER=1 (``.ci/run``), when it fails instead. Browser tests
run on SQLite only. REVY_SCREENSHOTS=<folder> saves a PNG of each page
shown to it (``make screenshots`` fills docs/admin/).
"""

import json
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
AXE = Path(os.environ.get("REVY_AXE", ROOT / ".axe/node_modules/axe-core/axe.min.js"))
CHROMIUM = os.environ.get("REVY_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("REVY_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRED = os.environ.get("REVY_REQUIRE_BROWSER", "") not in ("", "0")
SCREENSHOTS = os.environ.get("REVY_SCREENSHOTS", "")


def missing() -> str | None:
    """What the browser tests lack here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(path)):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    if not AXE.exists():
        return f"{AXE} is missing (npm install axe-core, as make test does)"
    return None


def need_browser() -> None:
    """Skip (or fail, under REVY_REQUIRE_BROWSER=1) without a browser; skip
    on the server databases, where the browser tests do not run."""
    if not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("browser tests run on SQLite only")
    lacking = missing()
    if lacking:
        if REQUIRED:
            pytest.fail(f"REVY_REQUIRE_BROWSER=1, but {lacking}")
        pytest.skip(lacking)


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1280,900",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def color_scheme(driver, scheme: str) -> None:
    """Show pages in the "light" or "dark" scheme, as the admin follows it."""
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


def axe_violations(driver) -> list[dict]:
    """The serious and critical axe-core violations of the page shown."""
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations)))"
        ".catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical',"
        " description: String(e), nodes: []}])));"
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "description": violation["description"],
            "nodes": [
                node.get("html", "")[:200] + " " + node.get("failureSummary", "")[:300]
                for node in violation["nodes"][:5]
            ],
        }
        for violation in json.loads(found)
        if violation["impact"] in ("serious", "critical")
    ]


def screenshot(driver, name: str) -> None:
    """Save the whole page as REVY_SCREENSHOTS/<name>.png, if asked."""
    if not SCREENSHOTS:
        return
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script(
        "return Math.min(document.documentElement.scrollHeight, 2400)"
    )
    driver.set_window_size(1280, max(height, 600))
    driver.save_screenshot(str(folder / f"{name}.png"))
    driver.set_window_size(1280, 900)
