"""The admin's history pages in a real browser (issue 21): Debian's
Chromium, driven through the system chromedriver against pytest-django's
live server, with axe-core checking each page in the light and the dark
scheme. SQLite only; see tests/browser.py for what they need."""

import pytest
from django.conf import settings
from django.test import Client

from revy import Context
from tests import browser
from tests.admin_support import staff, url, written_novel
from tests.adminapp.models import Chapter, Novel
from tests.helpers import Revision

pytestmark = [pytest.mark.django_db(transaction=True)]

# docs/admin.md shows every page in the light scheme, these also in the dark.
DARK_SCREENSHOTS = {"history", "compare"}


def submitted(driver, css: str, until: str) -> str:
    """Click the submit button ``css`` and wait for the next page, one whose
    body holds ``until``; return that text."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page_before = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, css).click()
    # Read the body only once the old page is gone: while Chromium swaps
    # documents, reading it fails with errors other than a stale element.
    wait = WebDriverWait(driver, 20, ignored_exceptions=[WebDriverException])
    wait.until(expected_conditions.staleness_of(page_before))
    wait.until(lambda d: until in d.find_element(By.TAG_NAME, "body").text)
    return driver.find_element(By.TAG_NAME, "body").text


@pytest.fixture
def chromium():
    browser.need_browser()
    driver = browser.chromium()
    yield driver
    driver.quit()


def sign_in(driver, live_server, client: Client) -> None:
    """Give the browser the session of ``client`` (signed in by force_login)."""
    driver.get(live_server.url + "/admin/login/")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    driver.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "path": "/"}
    )


def open_page(driver, live_server, path: str, name: str = "", axe=True) -> str:
    """Open ``path``, check it in both schemes with axe-core (not Django's
    own pages: ``axe=False``), save its screenshots; return the page's
    text."""
    from selenium.webdriver.common.by import By

    for scheme in ("light", "dark"):
        # Loaded in its scheme: switching after loading would run the
        # admin's color transitions while axe reads the colors.
        browser.color_scheme(driver, scheme)
        driver.get(live_server.url + path)
        if axe:
            violations = browser.axe_violations(driver)
            assert violations == [], (path, scheme, violations)
        if name and (scheme == "light" or name in DARK_SCREENSHOTS):
            browser.screenshot(driver, f"{name}{'' if scheme == 'light' else '-dark'}")
    browser.color_scheme(driver, "light")
    driver.get(live_server.url + path)
    return driver.find_element(By.TAG_NAME, "body").text


@pytest.fixture
def editor(db):
    return staff(
        "editor",
        *[
            f"adminapp.{action}_{model}"
            for action in ("view", "add", "change", "delete")
            for model in ("novel", "author", "chapter", "review", "genre")
        ],
    )


def test_open_an_objects_history(chromium, live_server, editor, alice):
    from selenium.webdriver.common.by import By

    novel = written_novel(alice)
    client, _user = editor
    sign_in(chromium, live_server, client)
    open_page(
        chromium, live_server, url(Novel, "change", novel.pk), "change", axe=False
    )
    chromium.find_element(By.LINK_TEXT, "HISTORY").click()
    assert chromium.current_url.endswith(url(Novel, "history", novel.pk))
    text = open_page(chromium, live_server, url(Novel, "history", novel.pk), "history")
    assert text.index("Copy-editing") < text.index("Start the novel")
    assert "tok-" not in chromium.page_source
    # Long text folds; its diff opens on a click.
    chromium.find_element(By.XPATH, "//summary[text()='Show the change']").click()
    inserted = chromium.find_element(By.CSS_SELECTOR, ".revy-diff ins")
    assert inserted.text == "Winston Smith is tired."
    first = Revision.objects.order_by("pk").first()
    text = open_page(
        chromium, live_server, url(Novel, "revy_as_of", novel.pk, first.pk), "as-of"
    )
    assert "Fantasy" in text and "Satire" not in text


def test_compare_two_revisions(chromium, live_server, editor, alice):
    from selenium.webdriver.common.by import By

    novel = written_novel(alice)
    first, second = Revision.objects.order_by("pk")[:2]
    client, _user = editor
    sign_in(chromium, live_server, client)
    open_page(chromium, live_server, url(Novel, "history", novel.pk))
    chromium.find_element(
        By.CSS_SELECTOR, f"input[name=from][value='{first.pk}']"
    ).click()
    chromium.find_element(
        By.CSS_SELECTOR, f"input[name=to][value='{second.pk}']"
    ).click()
    submitted(chromium, "#revy-compare input[type=submit]", "From revision")
    assert "/history/compare/" in chromium.current_url
    text = open_page(
        chromium,
        live_server,
        chromium.current_url.removeprefix(live_server.url),
        "compare",
    )
    rows = chromium.find_elements(By.CSS_SELECTOR, "#revy-comparison tbody tr")
    cells = {row.find_element(By.TAG_NAME, "th").text: row.text for row in rows}
    assert "Nineteen Eighty-Four" in cells["Title"]
    assert "Published" in cells["Status"]
    assert "added: Satire" in cells["Genres"]
    assert "From revision" in text


def test_revert_a_revision_with_a_conflict_shown(chromium, live_server, editor, alice):
    from selenium.webdriver.common.by import By

    novel = written_novel(alice)
    copy_editing = Revision.objects.get(description="Copy-editing")
    with Context.via(actor=alice, revision_description="Later"):
        novel.title = "1984"
        novel.save()
    client, _user = editor
    sign_in(chromium, live_server, client)
    open_page(chromium, live_server, url(Novel, "history", novel.pk))
    links = chromium.find_elements(By.LINK_TEXT, "Revert this revision")
    target = url(Novel, "revy_revert", novel.pk, copy_editing.pk)
    [link] = [link for link in links if link.get_attribute("href").endswith(target)]
    link.click()
    text = open_page(chromium, live_server, target, "revert")
    assert "Later changes conflict with this" in text
    assert "title was changed later" in text
    submit = "#revy-revert-form input[type=submit]"
    submitted(chromium, submit, "was not reverted")
    assert Novel.objects.get().title == "1984"
    chromium.find_element(By.NAME, "overwrite").click()
    submitted(chromium, submit, "was reverted by revision")
    assert chromium.current_url.endswith(url(Novel, "history", novel.pk))
    assert Novel.objects.get().title == "Nineteen"


def test_recover_a_deleted_object_with_its_children(
    chromium, live_server, editor, alice
):
    from selenium.webdriver.common.by import By

    novel = written_novel(alice)
    key = novel.pk
    with Context.via(actor=alice, deletion_description="Withdrawn"):
        Novel.objects.get(pk=key).delete()
    client, _user = editor
    sign_in(chromium, live_server, client)
    open_page(chromium, live_server, url(Novel, "changelist"), "changelist")
    chromium.find_element(By.PARTIAL_LINK_TEXT, "RECOVER DELETED").click()
    text = open_page(chromium, live_server, url(Novel, "revy_recover"), "recover-list")
    assert "Nineteen Eighty-Four" in text and "Withdrawn" in text
    chromium.find_element(By.LINK_TEXT, "Recover…").click()
    text = open_page(
        chromium, live_server, url(Novel, "revy_recover_object", key), "recover"
    )
    assert "Also undo what its delete did to 3 other rows" in text
    chromium.find_element(By.ID, "revy-cascade").click()
    submitted(chromium, "#revy-recover-form input[type=submit]", "was recovered")
    assert chromium.current_url.endswith(url(Novel, "change", key))
    assert Chapter.objects.get().novel_id == key


def test_a_user_without_permission_is_refused(chromium, live_server, alice):
    from selenium.webdriver.common.by import By

    novel = written_novel(alice)
    client, _user = staff("outsider", "adminapp.view_author")
    sign_in(chromium, live_server, client)
    chromium.get(live_server.url + url(Novel, "history", novel.pk))
    body = chromium.find_element(By.TAG_NAME, "body").text
    assert "403" in body or "Forbidden" in body
    assert "Copy-editing" not in chromium.page_source


def test_the_revision_page(chromium, live_server, admin_user, alice):
    written_novel(alice)
    client = Client()
    client.force_login(admin_user)
    sign_in(chromium, live_server, client)
    revision = Revision.objects.get(description="Copy-editing")
    opts = Revision._meta
    text = open_page(
        chromium,
        live_server,
        f"/admin/{opts.app_label}/{opts.model_name}/{revision.pk}/change/",
        "revision",
    )
    assert "Copy-editing" in text and "REVERT THIS REVISION" in text.upper()
