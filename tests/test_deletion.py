"""Deletes, cascades and the deletion handlers: issue 4, "Deletion handlers".

revy's CASCADE, SET, SET_NULL and SET_DEFAULT are Django's own; revy records
what Django's deletion Collector does. These tests check, on the models of
tests/testapp (Shelf -> Book -> Page, Publisher -> Editor -> Book.editor,
Category <- Task, Album -> Photo, Team/Player via Membership):

- that outside a context, or with tracking disabled, nothing is recorded and
  Django's outcome and return values are exactly those of a recorded delete;
- that inside one, every deleted object gets a delete delta in one revision,
  each cascaded delta names its cause, and every row SET_NULL, SET_DEFAULT or
  SET changed gets an update delta with its true old foreign key;
- that a delete of 2,000 rows costs a bounded number of queries;
- that what pre_delete and post_delete receivers write is recorded too.

That the handlers are Django's own, and make stable migrations, is tested in
test_deletion_handlers.py.

History is read through the models in use (``get_object_delta_model()`` and
its twins), so the suite runs unchanged with REVY_TEST_SWAPPED=1.
"""

from contextlib import contextmanager, nullcontext

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_delete, pre_delete
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django import history
from tests.helpers import (
    DELETE,
    UPDATE,
    AttributeDelta,
    ObjectDelta,
    Revision,
    Undo,
    User,
    ct,
    delta_of,
    deltas_of,
    nothing_recorded,
    stored,
    warm_content_types,
)
from tests.testapp.models import (
    Album,
    Article,
    Book,
    Category,
    Comment,
    Counter,
    Editor,
    EveryField,
    Membership,
    Page,
    Photo,
    Player,
    Post,
    Publisher,
    Restaurant,
    Shelf,
    Tag,
    Task,
    Team,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("delete_batches")]

# Counts of queries hold for batches of the default size.
_DEFAULT_BATCHES = pytest.mark.parametrize(
    "delete_batches", ["in one batch"], indirect=True
)


# Helpers ---------------------------------------------------------------------


def has_delta(model, pk):
    return ObjectDelta.objects.for_key(model, pk).exists()


def rows(queryset):
    """The rows of a values_list queryset, sortable whatever holds NULL."""
    return sorted(
        tuple("<null>" if value is None else value for value in row) for row in queryset
    )


def world():
    """Every row the deletion scenarios touch, named by content, not by key."""
    return {
        "publishers": rows(Publisher.objects.values_list("name")),
        "shelves": rows(Shelf.objects.values_list("name")),
        "editors": rows(
            Editor.objects.values_list("name", "publisher__name", "shelf__name")
        ),
        "books": rows(Book.objects.values_list("title", "shelf__name", "editor__name")),
        "pages": rows(Page.objects.values_list("book__title", "number")),
        "categories": rows(Category.objects.values_list("code")),
        "tasks": rows(
            Task.objects.values_list("title", "category", "fallback", "sentinel")
        ),
        "albums": rows(Album.objects.values_list("title")),
        "photos": rows(Photo.objects.values_list("album__title", "caption")),
        "teams": rows(Team.objects.values_list("name")),
        "players": rows(Player.objects.values_list("name")),
        "memberships": rows(
            Membership.objects.values_list("team__name", "player__name", "role")
        ),
        "users": rows(User.objects.values_list("username")),
        "posts": rows(Post.objects.values_list("author__username", "title")),
    }


# Datasets ----------------------------------------------------------------------
# Each builds its rows outside any context and returns them by name.


def build_library():
    """Shelves of books with pages, editors from a publisher."""
    acme = Publisher.objects.create(name="Acme")
    fiction = Shelf.objects.create(name="fiction")
    poetry = Shelf.objects.create(name="poetry")
    ann = Editor.objects.create(name="Ann", publisher=acme)
    # Bob belongs to the fiction shelf: deleting it deletes him, which nulls
    # the editor of his books that survive (on poetry).
    bob = Editor.objects.create(name="Bob", publisher=acme, shelf=fiction)
    cy = Editor.objects.create(name="Cy")
    books = {}
    for title, shelf, editor in [
        ("Emma", fiction, ann),
        ("Ulysses", fiction, bob),
        ("Odes", poetry, bob),
        ("Sonnets", poetry, cy),
        ("Haiku", poetry, None),
    ]:
        book = books[title] = Book.objects.create(
            title=title, shelf=shelf, editor=editor
        )
        for number in (1, 2):
            Page.objects.create(book=book, number=number)
    return {
        "acme": acme,
        "fiction": fiction,
        "poetry": poetry,
        "ann": ann,
        "bob": bob,
        "cy": cy,
        **books,
    }


def build_tasks():
    """Categories and the tasks SET_DEFAULT, SET(value) and SET(callable) move."""
    for code in ("general", "archive", "design", "old", "stale"):
        Category.objects.create(code=code)
    return {
        "design 1": Task.objects.create(title="design 1", category_id="design"),
        "design 2": Task.objects.create(title="design 2", category_id="design"),
        "general": Task.objects.create(title="general", category_id="general"),
        "fallback": Task.objects.create(
            title="fallback", category_id="general", fallback_id="old"
        ),
        "sentinel": Task.objects.create(
            title="sentinel", category_id="general", sentinel_id="stale"
        ),
    }


def build_album(photos=3):
    album = Album.objects.create(title="holiday")
    Photo.objects.bulk_create(
        Photo(album=album, caption=f"photo {n}") for n in range(photos)
    )
    Album.objects.create(title="other")
    return album


def build_team():
    team = Team.objects.create(name="red")
    blue = Team.objects.create(name="blue")
    ada = Player.objects.create(name="Ada")
    max_ = Player.objects.create(name="Max")
    Membership.objects.create(team=team, player=ada, role="captain")
    Membership.objects.create(team=team, player=max_)
    Membership.objects.create(team=blue, player=max_)
    return team, ada, max_


def build_user_with_posts():
    user = User.objects.create(username="closing")
    for title in ("first", "second"):
        Post.objects.create(author=user, title=title)
    other = User.objects.create(username="staying")
    Post.objects.create(author=other, title="kept")
    return user


# Outside a context, Django's behaviour is unchanged ---------------------------


def _shelf_delete():
    build_library()
    return Shelf.objects.get(name="fiction").delete()


def _shelves_queryset_delete():
    build_library()
    return Shelf.objects.all().delete()


def _editor_delete():
    build_library()
    return Editor.objects.get(name="Cy").delete()


def _publisher_delete():
    build_library()
    return Publisher.objects.get(name="Acme").delete()


def _editors_queryset_delete():
    build_library()
    return Editor.objects.filter(name__in=["Ann", "Cy"]).delete()


def _pages_queryset_delete():
    build_library()
    return Page.objects.filter(number=1).delete()


def _single_page_delete():
    library = build_library()
    return library["Emma"].pages.get(number=2).delete()


def _set_default():
    build_tasks()
    return Category.objects.get(code="design").delete()


def _set_value():
    build_tasks()
    return Category.objects.get(code="old").delete()


def _set_callable():
    build_tasks()
    return Category.objects.get(code="stale").delete()


def _album_delete():
    return build_album().delete()


def _photos_queryset_delete():
    album = build_album()
    return Photo.objects.filter(album=album).delete()


def _team_delete():
    team, _ada, _max = build_team()
    return team.delete()


def _player_delete():
    _team, _ada, max_ = build_team()
    return max_.delete()


def _user_delete():
    return build_user_with_posts().delete()


SCENARIOS = {
    "CASCADE three levels, Model.delete": _shelf_delete,
    "CASCADE three levels, QuerySet.delete": _shelves_queryset_delete,
    "SET_NULL": _editor_delete,
    "CASCADE crossing SET_NULL": _publisher_delete,
    "SET_NULL, QuerySet.delete": _editors_queryset_delete,
    "fast delete, QuerySet.delete": _pages_queryset_delete,
    "fast delete, one object": _single_page_delete,
    "SET_DEFAULT": _set_default,
    "SET(value)": _set_value,
    "SET(callable)": _set_callable,
    "fast-deleted children": _album_delete,
    "fast-deleted children, QuerySet.delete": _photos_queryset_delete,
    "explicit through rows": _team_delete,
    "explicit through rows, other side": _player_delete,
    "django.db.models.CASCADE": _user_delete,
}


def outcome(scenario, mode):
    """What ``scenario`` returns and leaves in the database, under ``mode``.

    Everything it did is rolled back, so the scenarios can be compared on
    identical datasets within one test.
    """
    result = None
    try:
        with transaction.atomic():
            with mode():
                returned = scenario()
            result = (returned, world(), nothing_recorded())
            raise Undo
    except Undo:
        pass
    assert nothing_recorded()
    return result


def no_context():
    return nullcontext()


def disabled():
    return Context.as_disabled()


@contextmanager
def disabled_inside_a_context():
    with Context(), Context.as_disabled():
        yield


def recording():
    return Context()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_without_a_context_django_behaves_as_with_one(name):
    scenario = SCENARIOS[name]
    returned, data, empty = outcome(scenario, no_context)
    assert empty, "nothing is recorded outside a context"
    for mode in (disabled, disabled_inside_a_context):
        assert outcome(scenario, mode) == (returned, data, True), mode.__name__
    recorded_returned, recorded_data, recorded_empty = outcome(scenario, recording)
    # Inside a context: the same return value of delete(), the same rows...
    assert recorded_returned == returned
    assert recorded_data == data
    # ...and history.
    assert not recorded_empty
    assert returned[0] > 0


def test_nothing_is_recorded_outside_a_context():
    library = build_library()
    library["fiction"].delete()
    library["cy"].delete()
    build_tasks()
    Category.objects.filter(code__in=["design", "old", "stale"]).delete()
    assert Task.objects.get(title="design 1").category_id == "general"
    assert Task.objects.get(title="fallback").fallback_id == "archive"
    assert Task.objects.get(title="sentinel").sentinel_id == "archive"
    assert nothing_recorded()


# Cascades ----------------------------------------------------------------------


def test_three_level_cascade_is_one_revision_with_causes():
    library = build_library()
    fiction = Shelf.objects.get(pk=library["fiction"].pk)
    books = list(fiction.books.order_by("pk"))
    pages = {book.pk: list(book.pages.order_by("pk")) for book in books}
    bob = library["bob"]
    fiction_pk = fiction.pk

    with Context():
        fiction.delete()

    assert not Shelf.objects.filter(pk=fiction_pk).exists()
    assert Revision.objects.count() == 1
    revision = Revision.objects.get()
    # Everything deleted: the shelf, its two books, their four pages, and
    # Bob, whose shelf it was.
    assert ObjectDelta.objects.filter(action=DELETE).count() == 1 + 2 + 4 + 1
    assert set(ObjectDelta.objects.values_list("revision", flat=True)) == {revision.pk}

    shelf_delta = delta_of(Shelf, fiction_pk)
    assert shelf_delta.action == DELETE
    assert shelf_delta.cause is None
    assert stored(shelf_delta) == {"name": ("fiction", None)}
    for book in books:
        book_delta = delta_of(Book, book.pk)
        assert book_delta.action == DELETE
        assert book_delta.cause == shelf_delta
        assert stored(book_delta) == {
            "title": (book.title, None),
            "shelf": (fiction_pk, None),
            "editor": (book.editor_id, None),
        }
        for page in pages[book.pk]:
            page_delta = delta_of(Page, page.pk)
            assert page_delta.action == DELETE
            assert page_delta.cause == book_delta
            assert page_delta.cause.cause == shelf_delta
            assert stored(page_delta) == {
                "book": (book.pk, None),
                "number": (page.number, None),
            }
    bob_delta = delta_of(Editor, bob.pk)
    assert bob_delta.action == DELETE
    assert bob_delta.cause == shelf_delta
    assert list(shelf_delta.effects.order_by("pk")) == sorted(
        [delta_of(Book, book.pk) for book in books] + [bob_delta],
        key=lambda delta: delta.pk,
    )

    # Bob also edited "Odes", on the poetry shelf: it survives with its
    # editor set to NULL, caused by Bob's delete.
    odes = library["Odes"]
    odes_delta = delta_of(Book, odes.pk)
    assert odes_delta.action == UPDATE
    assert odes_delta.cause == bob_delta
    assert stored(odes_delta) == {"editor": (bob.pk, None)}
    assert Book.objects.get(pk=odes.pk).editor_id is None
    # "Ulysses", also Bob's, was deleted: a delete delta only, holding the
    # editor it had before the collector nulled it.
    ulysses = library["Ulysses"]
    assert delta_of(Book, ulysses.pk).action == DELETE
    assert stored(delta_of(Book, ulysses.pk))["editor"] == (bob.pk, None)
    # Nothing else changed.
    for name in ("poetry", "acme", "ann", "cy", "Sonnets", "Haiku"):
        assert not has_delta(type(library[name]), library[name].pk), name


def test_queryset_delete_of_a_cascade_records_every_object():
    library = build_library()
    shelves = [library["fiction"], library["poetry"]]
    with Context():
        returned = Shelf.objects.all().delete()
    assert returned == (
        2 + 5 + 10 + 1,
        {
            "testapp.Shelf": 2,
            "testapp.Book": 5,
            "testapp.Page": 10,
            "testapp.Editor": 1,
        },
    )
    assert Revision.objects.count() == 1
    assert ObjectDelta.objects.filter(action=DELETE).count() == 18
    # No book survives, so no SET_NULL update is recorded.
    assert not ObjectDelta.objects.exclude(action=DELETE).exists()
    for shelf in shelves:
        shelf_delta = delta_of(Shelf, shelf.pk)
        assert shelf_delta.cause is None
    for title in ("Emma", "Ulysses", "Odes", "Sonnets", "Haiku"):
        book = library[title]
        book_delta = delta_of(Book, book.pk)
        assert book_delta.cause == delta_of(Shelf, book.shelf_id)
        page_deltas = ObjectDelta.objects.filter(cause=book_delta)
        assert page_deltas.count() == 2
        assert set(page_deltas.values_list("content_type", flat=True)) == {ct(Page).pk}


def test_a_deferred_instance_records_its_true_stored_values():
    library = build_library()
    emma = library["Emma"]
    Book.objects.filter(pk=emma.pk).update(title="Emma, revised")  # untracked
    deferred = Book.objects.only("pk").get(pk=emma.pk)
    with Context():
        deferred.delete()
    assert stored(delta_of(Book, emma.pk)) == {
        "title": ("Emma, revised", None),
        "shelf": (library["fiction"].pk, None),
        "editor": (library["ann"].pk, None),
    }


def test_a_stale_instance_records_what_the_database_held():
    library = build_library()
    cy = library["cy"]
    sonnets = library["Sonnets"]
    # Another process moves a book to Cy after Cy was loaded.
    Book.objects.filter(pk=library["Haiku"].pk).update(editor=cy)
    cy_pk = cy.pk
    with Context():
        cy.delete()
    for book in (sonnets, library["Haiku"]):
        delta = delta_of(Book, book.pk)
        assert delta.action == UPDATE
        assert stored(delta) == {"editor": (cy_pk, None)}
        assert delta.cause == delta_of(Editor, cy_pk)


# SET_NULL, SET_DEFAULT and SET -------------------------------------------------


def test_set_null_records_the_old_foreign_key():
    library = build_library()
    cy = library["cy"]
    extra = Book.objects.create(title="Verses", shelf=library["poetry"], editor=cy)
    cy_pk = cy.pk
    with Context():
        returned = cy.delete()
    assert returned == (1, {"testapp.Editor": 1})
    revision = Revision.objects.get()
    cy_delta = delta_of(Editor, cy_pk)
    assert cy_delta.action == DELETE
    assert cy_delta.cause is None
    assert cy_delta.revision == revision
    for book in (library["Sonnets"], extra):
        delta = delta_of(Book, book.pk)
        assert delta.action == UPDATE
        assert delta.revision == revision
        assert delta.cause == cy_delta
        assert stored(delta) == {"editor": (cy_pk, None)}
        assert Book.objects.get(pk=book.pk).editor_id is None
    assert ObjectDelta.objects.count() == 3
    assert AttributeDelta.objects.filter(field_name="editor").count() == 2


def test_a_cascade_crossing_a_set_null():
    library = build_library()
    acme, ann, bob = library["acme"], library["ann"], library["bob"]
    acme_pk = acme.pk
    with Context():
        acme.delete()
    assert Revision.objects.count() == 1
    acme_delta = delta_of(Publisher, acme_pk)
    assert acme_delta.action == DELETE
    assert acme_delta.cause is None
    ann_delta = delta_of(Editor, ann.pk)
    bob_delta = delta_of(Editor, bob.pk)
    for editor_delta in (ann_delta, bob_delta):
        assert editor_delta.action == DELETE
        assert editor_delta.cause == acme_delta
    for title, editor, editor_delta in [
        ("Emma", ann, ann_delta),
        ("Ulysses", bob, bob_delta),
        ("Odes", bob, bob_delta),
    ]:
        book = library[title]
        delta = delta_of(Book, book.pk)
        assert delta.action == UPDATE
        assert delta.cause == editor_delta
        assert delta.cause.cause == acme_delta
        assert stored(delta) == {"editor": (editor.pk, None)}
        assert Book.objects.get(pk=book.pk).editor_id is None
    # Cy's and no one's books are untouched.
    assert not has_delta(Book, library["Sonnets"].pk)
    assert not has_delta(Book, library["Haiku"].pk)
    assert ObjectDelta.objects.count() == 1 + 2 + 3


def test_set_null_caused_by_deleting_a_multi_table_child_names_its_cause():
    restaurant = Restaurant.objects.create(name="Luigi's")
    row = EveryField.objects.create(one=restaurant.place_ptr)
    pk = restaurant.pk
    with Context():
        restaurant.delete()
    (delete,) = deltas_of(Restaurant, pk)
    assert delete.action == DELETE
    (update,) = deltas_of(EveryField, row.pk)
    assert stored(update) == {"one": (pk, None)}
    assert update.cause == delete


def test_set_default_records_the_old_and_default_keys():
    tasks = build_tasks()
    with Context():
        returned = Category.objects.get(code="design").delete()
    assert returned == (1, {"testapp.Category": 1})
    category_delta = delta_of(Category, "design")
    assert category_delta.action == DELETE
    assert category_delta.content_id == "design"
    for name in ("design 1", "design 2"):
        delta = delta_of(Task, tasks[name].pk)
        assert delta.action == UPDATE
        assert delta.cause == category_delta
        assert delta.revision == category_delta.revision
        assert stored(delta) == {"category": ("design", "general")}
        assert Task.objects.get(pk=tasks[name].pk).category_id == "general"
    assert not has_delta(Task, tasks["general"].pk)
    assert ObjectDelta.objects.count() == 3


def test_set_with_a_value_records_the_old_and_new_keys():
    tasks = build_tasks()
    with Context():
        Category.objects.get(code="old").delete()
    category_delta = delta_of(Category, "old")
    delta = delta_of(Task, tasks["fallback"].pk)
    assert delta.action == UPDATE
    assert delta.cause == category_delta
    assert stored(delta) == {"fallback": ("old", "archive")}
    assert Task.objects.get(pk=tasks["fallback"].pk).fallback_id == "archive"
    assert ObjectDelta.objects.count() == 2


def test_set_with_a_callable_returning_an_instance():
    # Django's documented SET(get_sentinel_user) returns a model instance.
    tasks = build_tasks()
    with Context():
        Category.objects.get(code="stale").delete()
    category_delta = delta_of(Category, "stale")
    delta = delta_of(Task, tasks["sentinel"].pk)
    assert delta.action == UPDATE
    assert delta.cause == category_delta
    assert stored(delta) == {"sentinel": ("stale", "archive")}
    assert Task.objects.get(pk=tasks["sentinel"].pk).sentinel_id == "archive"
    assert ObjectDelta.objects.count() == 2


def test_a_queryset_delete_runs_every_handler_in_one_revision():
    tasks = build_tasks()
    with Context():
        returned = Category.objects.filter(code__in=["design", "old", "stale"]).delete()
    assert returned == (3, {"testapp.Category": 3})
    assert Revision.objects.count() == 1
    expected = {
        "design 1": {"category": ("design", "general")},
        "design 2": {"category": ("design", "general")},
        "fallback": {"fallback": ("old", "archive")},
        "sentinel": {"sentinel": ("stale", "archive")},
    }
    for name, changes in expected.items():
        delta = delta_of(Task, tasks[name].pk)
        assert delta.action == UPDATE
        assert stored(delta) == changes
        (field_name,) = changes
        assert delta.cause == delta_of(Category, changes[field_name][0])
    assert ObjectDelta.objects.count() == 3 + 4


# Fast deletes --------------------------------------------------------------------


def test_fast_deleted_children_are_recorded_with_their_cause():
    album = build_album(photos=3)
    photos = list(album.photos.order_by("pk"))
    album_pk = album.pk
    with Context():
        returned = album.delete()
    assert returned == (4, {"testapp.Photo": 3, "testapp.Album": 1})
    album_delta = delta_of(Album, album_pk)
    assert album_delta.cause is None
    for photo in photos:
        delta = delta_of(Photo, photo.pk)
        assert delta.action == DELETE
        assert delta.cause == album_delta
        assert stored(delta) == {
            "album": (album_pk, None),
            "caption": (photo.caption, None),
        }
    assert not Photo.objects.exists()


def test_a_fast_queryset_delete_is_recorded_without_a_cause():
    album = build_album(photos=3)
    photos = list(album.photos.order_by("pk"))
    with Context():
        returned = Photo.objects.filter(pk__in=[p.pk for p in photos[:2]]).delete()
    assert returned == (2, {"testapp.Photo": 2})
    for photo in photos[:2]:
        delta = delta_of(Photo, photo.pk)
        assert delta.action == DELETE
        assert delta.cause is None
        assert stored(delta)["caption"] == (photo.caption, None)
    assert not has_delta(Photo, photos[2].pk)
    assert not has_delta(Album, album.pk)


def test_one_object_without_dependants_takes_djangos_fast_path():
    library = build_library()
    page = library["Emma"].pages.get(number=1)
    with Context():
        returned = page.delete()
    assert returned == (1, {"testapp.Page": 1})
    assert page.pk is None  # as Django's fast path leaves it
    delta = ObjectDelta.objects.get()
    assert delta.action == DELETE
    assert delta.content_type == ct(Page)
    assert delta.cause is None
    assert stored(delta) == {
        "book": (library["Emma"].pk, None),
        "number": (1, None),
    }


def test_deleting_a_team_records_its_memberships():
    team, ada, max_ = build_team()
    memberships = list(Membership.objects.filter(team=team).order_by("pk"))
    team_pk = team.pk
    with Context():
        returned = team.delete()
    assert returned == (3, {"testapp.Membership": 2, "testapp.Team": 1})
    team_delta = delta_of(Team, team_pk)
    for membership, player in zip(memberships, (ada, max_), strict=True):
        delta = delta_of(Membership, membership.pk)
        assert delta.action == DELETE
        assert delta.cause == team_delta
        assert stored(delta) == {
            "team": (team_pk, None),
            "player": (str(player.pk), None),
            "role": (membership.role, None),
        }


# Actor and descriptions --------------------------------------------------------


def test_every_delta_of_a_delete_carries_the_actor_and_descriptions():
    actor = User.objects.create(username="librarian")
    library = build_library()
    with (
        Context.via_actor(actor),
        Context.via_object_delta_description("Shelf taken down."),
        Context.via_attribute_delta_description("Emptied."),
        Context.via_deletion_description("The fiction shelf is closed."),
        Context.via_revision_description("Reorganisation"),
    ):
        library["fiction"].delete()
    revision = Revision.objects.get()
    assert revision.description == "Reorganisation"
    deltas = list(ObjectDelta.objects.all())
    # shelf, 2 books, 4 pages, Bob; and Odes's editor set to NULL.
    assert len(deltas) == 9
    for delta in deltas:
        assert delta.revision == revision
        assert delta.actor == actor
        assert delta.description == "Shelf taken down."
        if delta.action == DELETE:
            assert delta.deletion_description == "The fiction shelf is closed."
        else:
            assert delta.action == UPDATE
        for attribute in delta.attribute_deltas.all():
            assert attribute.actor == actor
            assert attribute.description == "Emptied."
    assert [d.action for d in deltas].count(UPDATE) == 1
    assert AttributeDelta.objects.filter(object_delta__revision=revision).count() == (
        1 + 2 * 3 + 4 * 2 + 3 + 1
    )


def test_the_seed_deletion_example_as_written():
    user = build_user_with_posts()
    posts = list(Post.objects.filter(author=user).order_by("pk"))

    with (
        Context.via_object_delta_description(
            "The account has been closed at the owner's request."
        ),
        Context.via_deletion_description(
            "Deleted because the owner's account has been closed."
        ),
    ):
        user.delete()

    assert not User.objects.filter(username="closing").exists()
    assert Post.objects.get().title == "kept"
    revision = Revision.objects.get()
    user_delta = delta_of(User, posts[0].author_id)
    assert user_delta.action == DELETE
    assert user_delta.cause is None
    assert stored(user_delta)["username"] == ("closing", None)
    post_deltas = [delta_of(Post, post.pk) for post in posts]
    for delta in [user_delta, *post_deltas]:
        assert delta.revision == revision
        assert delta.action == DELETE
        assert delta.actor is None
        assert delta.description == (
            "The account has been closed at the owner's request."
        )
        assert delta.deletion_description == (
            "Deleted because the owner's account has been closed."
        )
    for delta, post in zip(post_deltas, posts, strict=True):
        assert delta.cause == user_delta
        assert stored(delta) == {
            "author": (post.author_id, None),
            "title": (post.title, None),
        }
    assert ObjectDelta.objects.count() == 3


def test_a_delete_in_a_disabled_context_records_nothing():
    library = build_library()
    with Context(), Context.as_disabled():
        library["fiction"].delete()
    assert nothing_recorded()
    assert not Page.objects.filter(book__title="Emma").exists()
    assert Book.objects.get(title="Odes").editor_id is None


def test_a_rolled_back_delete_leaves_no_history():
    library = build_library()
    acme_pk = library["acme"].pk
    with Context():
        with pytest.raises(Undo), transaction.atomic():
            library["acme"].delete()
            raise Undo
        library["cy"].delete()
    assert Publisher.objects.filter(pk=acme_pk).exists()
    assert Book.objects.get(title="Emma").editor == library["ann"]
    assert {(d.content_type.model, d.action) for d in ObjectDelta.objects.all()} == {
        ("editor", DELETE),
        ("book", UPDATE),
    }
    assert Revision.objects.count() == 1


# Query counts --------------------------------------------------------------------


@_DEFAULT_BATCHES
@pytest.mark.django_db(transaction=True)
def test_cascade_of_2000_children_takes_at_most_20_queries():
    album = build_album(photos=2000)
    album = Album.objects.get(pk=album.pk)
    album_pk = album.pk
    warm_content_types(Album, Photo, Page, Book, Shelf, Editor)
    with (
        CaptureQueriesContext(connection) as queries,
        Context(),
        transaction.atomic(),
    ):
        returned = album.delete()
    assert returned == (2001, {"testapp.Photo": 2000, "testapp.Album": 1})
    assert len(queries) <= 20, [q["sql"][:100] for q in queries]
    assert Revision.objects.count() == 1
    assert ObjectDelta.objects.filter(action=DELETE).count() == 2001
    album_delta = delta_of(Album, album_pk)
    assert album_delta.effects.count() == 2000
    assert AttributeDelta.objects.count() == 1 + 2000 * 2


@_DEFAULT_BATCHES
@pytest.mark.django_db(transaction=True)
def test_queryset_delete_of_2000_rows_takes_at_most_20_queries():
    album = build_album(photos=2000)
    warm_content_types(Album, Photo, Page, Book, Shelf, Editor)
    with CaptureQueriesContext(connection) as queries, Context():
        returned = Photo.objects.filter(album=album).delete()
    assert returned == (2000, {"testapp.Photo": 2000})
    assert len(queries) <= 20, [q["sql"][:100] for q in queries]
    assert Revision.objects.count() == 1
    assert ObjectDelta.objects.filter(action=DELETE, cause=None).count() == 2000
    assert AttributeDelta.objects.count() == 2000 * 2


def _build_shelves():
    """40 shelves of 50 books, each book with one page: 4,040 rows."""
    shelves = Shelf.objects.bulk_create(Shelf(name=f"s{n}") for n in range(40))
    books = Book.objects.bulk_create(
        Book(title=f"b{n}", shelf=shelf) for shelf in shelves for n in range(50)
    )
    Page.objects.bulk_create(Page(book=book, number=1) for book in books)


@_DEFAULT_BATCHES
@pytest.mark.django_db(transaction=True)
def test_a_three_level_cascade_of_4000_rows_costs_a_bounded_number_of_queries():
    warm_content_types(Album, Photo, Page, Book, Shelf, Editor)
    _build_shelves()
    with CaptureQueriesContext(connection) as untracked:
        Shelf.objects.all().delete()
    _build_shelves()
    with CaptureQueriesContext(connection) as queries, Context():
        returned = Shelf.objects.all().delete()
    assert returned == (
        4040,
        {"testapp.Shelf": 40, "testapp.Book": 2000, "testapp.Page": 2000},
    )
    # Django itself deletes the related rows in batches bounded by the
    # database's parameters; revy adds reads and writes in batches, not per
    # row: a few statements for each of Django's (a delete by filter writes
    # its history in SQL with it), and at most 20 more.
    assert len(queries) <= 2 * len(untracked) + 20, [q["sql"][:80] for q in queries]
    assert Revision.objects.count() == 1
    assert ObjectDelta.objects.count() == 4040
    assert ObjectDelta.objects.filter(cause=None).count() == 40
    assert ObjectDelta.objects.filter(cause__cause=None).count() == 40 + 2000
    assert AttributeDelta.objects.count() == 40 + 2000 * 3 + 2000 * 2


# Writes made by delete signal receivers ------------------------------------------


def test_a_post_delete_receiver_s_own_write_is_recorded():
    """Every change of a tracked model inside a context is recorded; a write
    made by a post_delete receiver is the receiver's own, not part of
    Django's delete, and must be recorded like any other."""
    counter = Counter.objects.create(value=1)
    comment = Comment.objects.create(text="doomed")

    def count_down(sender, instance, **kwargs):
        counter.value -= 1
        counter.save()

    with connected(post_delete, count_down, Comment), Context():
        comment.delete()
    assert Counter.objects.get().value == 0
    [update] = ObjectDelta.objects.for_object(counter)
    assert update.attribute_deltas.get(field_name="value").new() == 0


def test_a_pre_delete_receiver_clearing_a_relation_is_recorded():
    """Inside a context, a many-to-many change made by a pre_delete receiver
    (a common Django pattern) is recorded like any other change."""
    article = Article.objects.create(title="a")
    tag = Tag.objects.create(name="t")
    album = Album.objects.create(title="a")
    with Context():
        article.tags.add(tag)

    def clear_tags(sender, instance, **kwargs):
        article.tags.clear()

    with connected(pre_delete, clear_tags, Album), Context():
        album.delete()
    assert not article.tags.exists()
    assert history.members_as_of(article, "tags") == set()
    assert history.members_as_of(tag, "articles") == set()


def test_a_save_made_by_a_post_delete_receiver_is_recorded():
    """Inside a context, a tracked row saved by a post_delete receiver of a
    cascaded delete is recorded, as it would be anywhere else."""
    counter = Counter.objects.create(value=0)
    album = Album.objects.create(title="a")
    Photo.objects.create(album=album)

    def count(sender, instance, **kwargs):
        live = Counter.objects.get(pk=counter.pk)
        live.value += 1
        live.save()

    with connected(post_delete, count, Photo), Context():
        album.delete()
    assert Counter.objects.get(pk=counter.pk).value == 1
    updates = ObjectDelta.objects.for_key(Counter, counter.pk).filter(action=UPDATE)
    assert updates.count() == 1


@contextmanager
def connected(signal, receiver, sender):
    """``receiver`` connected to ``signal`` from ``sender`` for a block."""
    signal.connect(receiver, sender=sender, weak=False)
    try:
        yield
    finally:
        signal.disconnect(receiver, sender=sender)
