"""A real browser for the browser tests: the system's Chromium driven by
Selenium through the system's chromedriver (nothing is downloaded).

Without them the browser tests are skipped, saying what is missing; with
REQUIRE_BROWSER=1 (set it in CI) they fail instead. CHROMIUM and
CHROMEDRIVER name other binaries.
"""

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
REQUIRED = os.environ.get("REQUIRE_BROWSER", "") not in ("", "0")


def find(names: tuple[str, ...]) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


def missing() -> str | None:
    """What the browser tests lack here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if not find((os.environ.get("CHROMIUM", ""), *BROWSERS)):
        return "no Chromium found (apt-get install chromium, or set CHROMIUM)"
    if not find((os.environ.get("CHROMEDRIVER", ""), "chromedriver")):
        return "no chromedriver found (apt-get install chromium-driver, or set CHROMEDRIVER)"
    return None


@pytest.fixture
def chromium(live_server: Any) -> Iterator[Any]:
    """A headless Chromium, quit before the live server stops: its open
    connections must not outlive the test's database."""
    lacking = missing()
    if lacking:
        if REQUIRED:
            pytest.fail(f"REQUIRE_BROWSER=1, but {lacking}")
        pytest.skip(lacking)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = find((os.environ.get("CHROMIUM", ""), *BROWSERS)) or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--window-size=1280,900", "--lang=en-US"):  # fmt: skip
        options.add_argument(argument)
    service = Service(find((os.environ.get("CHROMEDRIVER", ""), "chromedriver")))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def sign_in(driver: Any, base_url: str, user: Any) -> None:
    """Make the browser's session the signed-in session of ``user``."""
    client = Client()
    client.force_login(user)
    driver.get(base_url + "/admin/login/")  # A page of the site, to set its cookie.
    driver.delete_all_cookies()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    driver.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "path": "/"})


def click_and_wait(driver: Any, css: str, until: str) -> str:
    """Click ``css`` and wait for a page whose text holds ``until``; return the text."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.CSS_SELECTOR, css).click()
    # While Chromium swaps documents, reading the body can fail with errors
    # other than a stale element: read again until the new page answers.
    WebDriverWait(driver, 20, ignored_exceptions=[WebDriverException]).until(
        lambda d: until in d.find_element(By.TAG_NAME, "body").text
    )
    return driver.find_element(By.TAG_NAME, "body").text
