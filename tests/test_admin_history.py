"""The admin's History, As of and Compare pages (issue 21), with revy's own
history models and the swapped ones; every database."""

import re
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django.admin import DEFAULT_MASKED_FIELDS, is_masked
from revy.contrib.django.admin.display import text_diff
from tests.admin_support import LONG, staff, url, written_novel
from tests.adminapp.admin import NovelAdmin
from tests.adminapp.models import (
    Author,
    Chapter,
    Code,
    DraftNovel,
    Edition,
    Gadget,
    Genre,
    Novel,
)
from tests.helpers import Revision

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(db):
    return staff(
        "reader", "adminapp.view_novel", "adminapp.view_genre", "adminapp.view_author"
    )


@pytest.fixture
def novel(alice):
    return written_novel(alice)


def text(response):
    """The page's main content as text, tags and extra spaces removed."""
    html = response.content.decode()
    html = html[html.index('id="content-main"') :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_history_page_lists_revisions_newest_first_with_actors(reader, novel):
    client, _user = reader
    page = client.get(url(Novel, "history", novel.pk))
    assert page.status_code == 200
    shown = text(page)
    first, second = Revision.objects.order_by("pk")[:2]
    assert shown.index("Copy-editing") < shown.index("Start the novel")
    assert f"Revision {second.pk}" in shown and f"Revision {first.pk}" in shown
    assert "By: system" in shown  # the copy-editing
    assert "By: alice" in shown
    # A revision that recorded a create and the members: one entry.
    assert page.content.decode().count('<section class="module revy-entry"') == 2
    assert "create, update" in shown


def test_values_show_as_the_fields_display_them(reader, novel):
    client, _user = reader
    page = client.get(url(Novel, "history", novel.pk))
    html = page.content.decode()
    shown = text(page)
    assert "Draft Published" in shown  # choices by their label
    author = Author.objects.get()
    assert f'<a href="{url(Author, "change", author.pk)}">George</a>' in html
    satire, fantasy = (
        Genre.objects.get(name="Satire"),
        Genre.objects.get(name="Fantasy"),
    )
    assert re.search(r"added: <a [^>]*>Satire</a>", html), "members added"
    assert re.search(r"removed: <a [^>]*>Fantasy</a>", html), "members removed"
    assert satire.pk and fantasy.pk
    # Long text is folded, with a diff of the change.
    assert '<details class="revy-long">' in html
    assert "<ins>Winston Smith is tired.</ins>" in html
    assert LONG[:40] in html


def test_secrets_are_masked_by_the_documented_rule(reader, novel):
    client, _user = reader
    for page in (
        client.get(url(Novel, "history", novel.pk)),
        client.get(url(Novel, "revy_as_of", novel.pk, Revision.objects.first().pk)),
    ):
        html = page.content.decode()
        assert "tok-first-secret" not in html and "tok-second-secret" not in html
        assert "••••••••" in html
    assert is_masked("api_token", DEFAULT_MASKED_FIELDS)
    assert is_masked("Password", DEFAULT_MASKED_FIELDS)
    assert not is_masked("title", DEFAULT_MASKED_FIELDS)


def test_an_admin_chooses_its_own_masked_fields(reader, novel, monkeypatch):
    monkeypatch.setattr(NovelAdmin, "history_masked_fields", ["title"])
    shown = text(reader[0].get(url(Novel, "history", novel.pk)))
    assert "Title •••••••• ••••••••" in shown
    assert "Nineteen Eighty-Four system" not in shown
    assert "tok-second-secret" in shown
    assert "Title → One" in shown  # the inline's own title: its admin's rule


def test_the_inlines_changes_in_the_same_revision_show_under_it(reader, novel):
    shown = text(reader[0].get(url(Novel, "history", novel.pk)))
    assert "Also in this revision" in shown
    assert f"Chapter {Chapter.objects.get().pk} : create" in shown


def test_the_history_page_is_paginated(reader, novel, monkeypatch):
    monkeypatch.setattr(NovelAdmin, "history_per_page", 2)
    client, _user = reader
    first = text(client.get(url(Novel, "history", novel.pk)))
    last = text(client.get(url(Novel, "history", novel.pk) + "?p=2"))
    assert "Copy-editing" in first and "Start the novel" not in first
    assert "Start the novel" in last


def add_revisions(novel, count, actor):
    """``count`` revisions of every kind a page shows: by a user, changing a
    title, a foreign key, the members and an inline row."""
    authors = [Author.objects.create(name=name) for name in ("Ann", "Ben")]
    genres = list(Genre.objects.all()[:2])
    chapter = novel.chapters.get()
    for number in range(count):
        with Context.via(actor=actor, revision_description=f"edit {number}"):
            novel.title = f"Title {number}"
            novel.author = authors[number % 2]
            novel.save()
            novel.genres.set([genres[number % 2]])
            chapter.title = f"Chapter {number}"
            chapter.save()


def test_a_history_page_costs_the_same_queries_for_10_and_1000_revisions(reader, alice):
    client, _user = reader
    counts = []
    for size in (10, 1000):
        novel = written_novel(alice)
        add_revisions(novel, size, alice)
        page_url = url(Novel, "history", novel.pk)
        client.get(page_url)  # warm caches (content types, session)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(page_url)
        assert page.status_code == 200
        assert f"edit {size - 1}" in page.content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    # Session, user, object, 2 for permissions, count, deltas, attribute
    # deltas, the inline's deltas and theirs, 1 per actor model, 1 per
    # related model shown (genres, authors).
    assert counts[0] == 13, counts


def test_as_of_shows_the_object_and_its_members_as_they_stood(reader, novel):
    client, _user = reader
    first = Revision.objects.order_by("pk").first()
    page = client.get(url(Novel, "revy_as_of", novel.pk, first.pk))
    assert page.status_code == 200
    shown = text(page)
    assert "Title Nineteen " in shown
    assert "Status Draft" in shown
    assert "Genres Fantasy" in shown and "Satire" not in shown
    now = client.get(url(Novel, "revy_as_of", novel.pk, Revision.objects.last().pk))
    assert "Genres Satire" in text(now)


def test_compare_shows_two_revisions_field_by_field(reader, novel):
    client, _user = reader
    first, second = Revision.objects.order_by("pk")[:2]
    page = client.get(
        url(Novel, "revy_compare", novel.pk) + f"?from={second.pk}&to={first.pk}"
    )
    assert page.status_code == 200
    shown = text(page)
    assert f"From revision {first.pk}" in shown  # put in order
    assert "Title Nineteen Nineteen Eighty-Four system" in shown
    assert "Status Draft Published" in shown
    assert "added: Satire" in shown and "removed: Fantasy" in shown
    assert "tok-" not in page.content.decode()
    same = client.get(
        url(Novel, "revy_compare", novel.pk) + f"?from={second.pk}&to={second.pk}"
    )
    assert "No field differs" in text(same)


def test_a_cascade_links_to_the_delete_that_caused_it(alice):
    novel = written_novel(alice)
    author = novel.author
    client, _user = staff(
        "cascade", "adminapp.view_novel", "adminapp.view_author", "adminapp.add_novel"
    )
    with Context.via(actor=alice):
        author.delete()
    page = client.get(url(Novel, "history", novel.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert "This object was deleted." in html
    assert url(Novel, "revy_recover_object", novel.pk) in html
    assert f'<a href="{url(Author, "history", author.pk or novel.author_id)}">' in html
    assert f"delete of author {novel.author_id}" in text(page)


def test_the_history_of_a_key_nothing_has_is_not_found(reader):
    client, _user = reader
    assert client.get(url(Novel, "history", 424242)).status_code == 302
    assert client.get(url(Novel, "history", "not-a-number")).status_code in (302, 404)


def test_multi_table_children_and_proxies(alice):
    client, _user = staff("mti", "adminapp.view_edition", "adminapp.view_draftnovel")
    with Context.via(actor=alice, revision_description="An edition"):
        edition = Edition.objects.create(title="Folio", isbn="123")
    with Context.via(actor=alice, revision_description="Renamed as a novel"):
        as_novel = Novel.objects.get(pk=edition.pk)
        as_novel.title = "Folio Society"
        as_novel.save()
    shown = text(client.get(url(Edition, "history", edition.pk)))
    assert "Renamed as a novel" in shown and "An edition" in shown
    assert "Isbn" in shown
    with Context.via(actor=alice, revision_description="A draft"):
        draft = Novel.objects.create(title="Draft")
    page = client.get(url(DraftNovel, "history", draft.pk))
    assert page.status_code == 200
    assert "A draft" in text(page)


def test_uuid_and_string_keys(alice):
    client, _user = staff("keys", "adminapp.view_gadget", "adminapp.view_code")
    key = uuid.uuid4()
    with Context.via(actor=alice, revision_description="Made"):
        Gadget.objects.create(id=key, name="g")
        Code.objects.create(code="a/b c?", label="odd key")
    assert "Made" in text(client.get(url(Gadget, "history", key)))
    page = client.get(url(Code, "history", "a/b c?"))
    assert page.status_code == 200
    assert "Made" in text(page)
    first = Revision.objects.get()
    assert client.get(url(Code, "revy_as_of", "a/b c?", first.pk)).status_code == 200


def test_the_admins_own_saves_are_recorded_with_the_signed_in_user(admin_user):
    from django.test import Client

    client = Client()
    client.force_login(admin_user)
    response = client.post(
        url(Novel, "add"),
        {
            "title": "Typed in",
            "status": "draft",
            "synopsis": "",
            "api_token": "",
            "chapters-TOTAL_FORMS": "1",
            "chapters-INITIAL_FORMS": "0",
            "chapters-0-number": "1",
            "chapters-0-title": "First",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    novel = Novel.objects.get(title="Typed in")
    revision = Revision.objects.get()
    assert {d.actor for d in revision.object_deltas.all()} == {admin_user}
    models_ = {
        ContentType.objects.get_for_id(d.content_type_id).model_class()
        for d in revision.object_deltas.all()
    }
    assert models_ == {Novel, Chapter}
    assert Chapter.objects.get().novel == novel


def test_text_diff_marks_words_removed_and_added():
    assert str(text_diff("a b c", "a x c")) == "a <del>b</del><ins>x</ins> c"
    assert "&lt;script&gt;" in str(text_diff("<script>", "x"))
