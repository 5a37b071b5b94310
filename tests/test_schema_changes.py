"""History across real schema migrations (tests/schemaapp/migrations): a
field renamed (``RenameTrackedField``), one removed (``RemoveTrackedField``),
one retyped with a converter (``ConvertTrackedField``) and one without, and
the model renamed; history written before them, read, reverted and restored
after them, and the migrations run back."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from revy.contrib.django import history, triggers
from revy.contrib.django.exceptions import Conflict, RevertConflict, UndecodableValue
from revy.contrib.django.ledger import Amendment
from revy.contrib.django.operations import ConvertTrackedField
from revy.contrib.django.schema import RawValue
from revy.contrib.django.schemachecks import check_history_against_migrations
from revy.contrib.django.verifying import checkpoint, verify
from tests.admin_support import url
from tests.helpers import AttributeDelta, Revision, User, acting, rewriting_history
from tests.schemaapp.models import Post

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = ("schemaapp", "0001_initial")


def migrate(target):
    call_command("migrate", "schemaapp", target, verbosity=0)
    # RenameModel renames the content type through the migration's own
    # ContentType model: this process's cache still knows the old name.
    ContentType.objects.clear_cache()


@pytest.fixture
def old_history():
    """History written through the model as it was in 0001 (``Article``,
    with ``title``, ``body``, and ``count`` and ``rating`` as text), then the
    migrations run forward; back to the latest state afterwards whatever
    happens."""
    migrate("0001")
    # migrate's post_migrate made a content type for Post, the model of the
    # code, beside Article's: RenameModel could not rename Article's to it.
    # A project that only migrates forward never has it.
    ContentType.objects.filter(app_label="schemaapp", model="post").delete()
    try:
        state = MigrationExecutor(connection).loader.project_state(FIRST)
        article = state.apps.get_model("schemaapp", "Article")
        with acting(description="written"):
            kept = article.objects.create(
                title="one", body="b1", count="12", rating="1"
            )
            typed = article.objects.create(title="typed", count="7", rating="abc")
            gone = article.objects.create(title="c1", rating="2")
        with acting(description="changed"):
            kept.title, kept.body, kept.count = "two", "b2", "13"
            kept.save()
        with acting(description="retyped"):
            typed.rating = "5"
            typed.save()
        with acting(description="renamed c"):
            gone.title = "c2"
            gone.save()
        with acting(description="deleted c"):
            gone.delete()
        revisions = {r.description: r for r in Revision.objects.all()}
        gone_pk = (
            Revision.objects.get(description="deleted c").object_deltas.get().content_id
        )
        migrate("0005")
        yield revisions, kept.pk, typed.pk, int(gone_pk)
    finally:
        migrate("0005")


def superuser_client():
    client = Client()
    client.force_login(
        User.objects.create(username="root", is_staff=True, is_superuser=True)
    )
    return client


@pytest.fixture
def sealed_history(settings, request):
    """The old history written and migrated with tamper evidence on."""
    settings.REVY_TAMPER_EVIDENCE = True
    settings.REVY_INTEGRITY_KEY = "kept-in-the-environment"
    return request.getfixturevalue("old_history")


def test_renamed_and_converted_history_still_verifies_and_is_resealed(
    sealed_history,
):
    revisions, kept, _typed, _gone = sealed_history
    rewritten = {revisions["written"].pk, revisions["changed"].pk}

    assert verify().ok, verify().problems
    migrations = [
        a
        for a in Amendment.objects.filter(kind=Amendment.KIND_MIGRATE).order_by("pk")
        if a.details["operation"] != "RemoveTrackedField"
    ]
    assert [a.details["operation"] for a in migrations] == [
        "RenameTrackedField",
        "ConvertTrackedField",
    ]
    for amendment in migrations:
        sealed = {revision for _seal, revision, _digest in amendment.details["seals"]}
        assert sealed >= rewritten
    # Back and forth again, past a checkpoint that chained the seals replaced.
    checkpoint()
    migrate("0001")
    assert verify().ok, verify().problems
    migrate("0005")
    checkpoint()
    assert verify().ok, verify().problems

    # A rewritten row altered afterwards is still caught, at its revision.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(AttributeDelta._meta.db_table)} "
            "SET new_value = %s WHERE field_name = %s AND content_id = %s "
            "AND new_value = %s",
            ["14", "count", str(kept), "13"],
        )
        assert cursor.rowcount == 1
    assert [p.revision for p in verify().problems] == [revisions["changed"].pk]


def test_a_renamed_fields_history_follows_it(old_history):
    revisions, kept, _typed, _gone = old_history

    assert history.state_at(Post, kept, revisions["written"]).headline == "one"
    assert [
        (c.old, c.new) for c in history.changes(Post(pk=kept)) if c.field == "headline"
    ] == [(None, "one"), ("one", "two")]


def test_a_renamed_model_keeps_its_history(old_history):
    revisions, kept, _typed, _gone = old_history

    assert ContentType.objects.get_for_model(Post).model == "post"
    assert [d.revision.description for d in history.history(Post(pk=kept))] == [
        "changed",
        "written",
    ]


def test_a_removed_fields_history_stays_readable_and_marked(old_history):
    revisions, kept, _typed, _gone = old_history

    body = [c for c in history.changes(Post(pk=kept)) if c.field == "body"]
    assert [(c.old, c.new) for c in body] == [
        (None, RawValue("b1", field_missing=True)),
        (RawValue("b1", field_missing=True), RawValue("b2", field_missing=True)),
    ]
    [change] = [
        c for c in history.diff(Post, kept, revisions["written"]) if c.field == "body"
    ]
    assert (change.old, change.new) == (
        RawValue("b1", field_missing=True),
        RawValue("b2", field_missing=True),
    )
    assert history.removed_fields_at(Post, kept, revisions["written"]) == {
        "body": RawValue("b1", field_missing=True)
    }


def test_a_converted_fields_history_reads_as_its_new_type(old_history):
    revisions, kept, _typed, _gone = old_history

    assert history.state_at(Post, kept, revisions["written"]).count == 12
    assert [
        (c.old, c.new) for c in history.changes(Post(pk=kept)) if c.field == "count"
    ] == [(None, 12), (12, 13)]


def test_a_value_the_new_type_cannot_parse_raises_revys_error(old_history):
    revisions, _kept, typed, _gone = old_history

    with pytest.raises(UndecodableValue) as raised:
        history.state_at(Post, typed, revisions["written"])
    assert "schemaapp.Post.rating" in str(raised.value)
    assert "'abc'" in str(raised.value)
    assert f"row {typed}" in str(raised.value)
    assert "ConvertTrackedField" in str(raised.value)

    with pytest.raises(UndecodableValue) as raised:
        history.revert(revisions["retyped"], overwrite=True)
    assert "schemaapp.Post.rating" in str(raised.value)
    assert "attribute delta" in raised.value.where
    assert raised.value.stored == "abc"
    assert Post.objects.get(pk=typed).rating == 5  # Nothing was written.


def test_reads_that_show_history_show_an_unparsable_value_as_recorded(old_history):
    revisions, _kept, typed, _gone = old_history

    rating = [c for c in history.changes(Post(pk=typed)) if c.field == "rating"]
    assert [(c.old, c.new) for c in rating] == [
        (None, RawValue("abc")),
        (RawValue("abc"), 5),
    ]
    [change] = [
        c
        for c in history.diff(Post, typed, revisions["written"])
        if c.field == "rating"
    ]
    assert (change.old, change.new) == (RawValue("abc"), 5)


def test_a_revert_restores_what_exists_and_reports_what_does_not(old_history):
    revisions, kept, _typed, _gone = old_history

    missing = [c for c in history.revert_conflicts(revisions["changed"]) if c.reason]
    assert [(c.field, c.reason, c.pk) for c in missing] == [
        ("body", Conflict.FIELD_MISSING, str(kept))
    ]
    with pytest.raises(RevertConflict) as raised:
        history.revert(revisions["changed"])
    assert "body is not a field of the model any more" in str(raised.value)
    assert Post.objects.get(pk=kept).headline == "two"

    history.revert(revisions["changed"], overwrite=True)

    post = Post.objects.get(pk=kept)
    assert (post.headline, post.count) == ("one", 12)


def test_a_restore_puts_back_the_renamed_field_and_reports_the_removed_one(old_history):
    revisions, _kept, _typed, gone = old_history

    restored = history.restore(Post, gone, revisions["written"])

    assert Post.objects.get(pk=gone).headline == "c1"
    assert restored.revy_not_restored == {"body": RawValue("", field_missing=True)}


def test_the_migrations_are_recorded_as_allowed_changes_of_history(old_history):
    kinds = list(
        Amendment.objects.filter(kind=Amendment.KIND_MIGRATE)
        .order_by("pk")
        .values_list("details", flat=True)
    )
    forwards = kinds[-3:]

    assert forwards[0]["operation"] == "RenameTrackedField"
    assert forwards[0]["attribute_deltas"] == 6  # Three creates, two changes, a delete.
    assert forwards[1] == {
        "operation": "RemoveTrackedField",
        "model": "schemaapp.article",
        "field": "body",
        "removed": True,
        "attribute_deltas": 5,  # Three creates, a change, a delete.
    }
    assert forwards[2]["operation"] == "ConvertTrackedField"
    assert forwards[2]["direction"] == "forwards"


def test_migrating_back_gives_history_its_old_names_and_types(old_history):
    revisions, kept, _typed, _gone = old_history

    migrate("0001")

    names = set(AttributeDelta.objects.values_list("field_name", flat=True))
    assert "title" in names and "headline" not in names
    counts = AttributeDelta.objects.filter(field_name="count")
    assert {"12", "13"} <= set(counts.values_list("new_value", flat=True))
    state = MigrationExecutor(connection).loader.project_state(FIRST)
    article = state.apps.get_model("schemaapp", "Article")
    assert history.state_at(article, kept, revisions["written"]).title == "one"


WITHOUT_REVYS_OPERATIONS = "tests.schemaapp.migrations_without_revys_operations"


def check_history_names():
    """The revy.W070 warnings of the check Django runs."""
    return _warnings("revy.W070")


def check_history_types():
    """The revy.W071 warnings of the check Django runs."""
    return _warnings("revy.W071")


def _warnings(check_id):
    found = check_history_against_migrations(databases=["default"])
    return [warning for warning in found if warning.id == check_id]


def test_the_check_is_quiet_where_revys_operations_cover_the_changes(old_history):
    assert check_history_names() == []


def test_the_check_warns_of_a_retyped_fields_value_it_cannot_parse(old_history):
    # 0004 retypes count with a ConvertTrackedField and rating without one;
    # rating's history holds "abc", recorded when it was text.
    [warning] = check_history_types()

    bad = AttributeDelta.objects.get(field_name="rating", new_value="abc")
    assert warning.id == "revy.W071"
    assert warning.msg == (
        f"History of schemaapp.Post.rating on 'default' holds 'abc' (attribute "
        f"delta {bad.pk}), which the field cannot parse: "
        "schemaapp.0004_retype_count_and_rating changed it from CharField to "
        "IntegerField and no ConvertTrackedField converts its history."
    )
    assert "ConvertTrackedField('post', 'rating', <forwards>, <backwards>)" in (
        warning.hint
    )


def test_the_check_is_quiet_where_a_retyped_fields_values_all_parse(old_history):
    # As if "abc" had never been recorded: the text of history is all digits.
    with rewriting_history():
        for column in ("old_value", "new_value"):
            AttributeDelta.objects.filter(
                field_name="rating", **{column: "abc"}
            ).update(**{column: "4"})

    assert check_history_types() == []


def test_the_check_warns_of_a_field_history_names_and_no_operation_covers(
    old_history, settings
):
    # The same changes made with Django's operations alone: history still
    # names the removed body; title's history was renamed, so it names no
    # title and is not warned of.
    settings.MIGRATION_MODULES = {"schemaapp": WITHOUT_REVYS_OPERATIONS}

    [warning] = check_history_names()

    assert warning.id == "revy.W070"
    assert "names the field 'body', which schemaapp.Post does not have" in warning.msg
    assert "RenameTrackedField('post', 'body', '<new name>')" in warning.hint
    assert "RemoveTrackedField('post', 'body')" in warning.hint
    assert "makemigrations --empty schemaapp" in warning.hint


def test_the_check_ignores_changes_made_before_revys_history_tables(
    old_history, settings
):
    settings.MIGRATION_MODULES = {"schemaapp": WITHOUT_REVYS_OPERATIONS}
    recorder = MigrationRecorder(connection).migration_qs
    latest = recorder.filter(app="schemaapp").latest("applied").applied
    revys = recorder.filter(app="revy", name="0001_initial")
    installed = revys.get().applied
    revys.update(applied=latest + timedelta(seconds=1))
    try:
        assert check_history_names() == []
        assert check_history_types() == []
    finally:  # django_migrations outlives the test's flush.
        revys.update(applied=installed)


def test_the_admin_shows_removed_fields_and_unparsable_values_as_recorded(
    old_history,
):
    revisions, kept, typed, _gone = old_history
    client = superuser_client()

    compare = client.get(
        url(Post, "revy_compare", kept)
        + f"?from={revisions['written'].pk}&to={revisions['changed'].pk}"
    )
    as_of = client.get(url(Post, "revy_as_of", typed, revisions["written"].pk))

    assert compare.status_code == 200
    shown = compare.content.decode()
    assert "body (no longer a field)" in shown
    assert '<code class="revy-raw" title="as recorded">&quot;b1&quot;</code>' in shown
    assert as_of.status_code == 200
    assert '<code class="revy-raw" title="as recorded">&quot;abc&quot;</code>' in (
        as_of.content.decode()
    )


def test_the_operations_pass_the_history_triggers(old_history):
    revisions, kept, _typed, _gone = old_history
    triggers.install()
    try:
        migrate("0001")
        assert AttributeDelta.objects.filter(field_name="title").exists()
        migrate("0005")
    finally:
        triggers.remove()

    assert not AttributeDelta.objects.filter(field_name="title").exists()
    assert history.state_at(Post, kept, revisions["written"]).headline == "one"


def test_a_conversion_without_a_backwards_function_cannot_be_migrated_back():
    operation = ConvertTrackedField("post", "count", int)

    assert not operation.reversible
    assert operation.deconstruct() == (
        "ConvertTrackedField",
        [],
        {"model_name": "post", "name": "count", "forwards": int},
    )


def test_the_admins_undo_pages_show_a_value_that_cannot_be_put_back_as_recorded(
    old_history,
):
    revisions, _kept, typed, _gone = old_history
    client = superuser_client()
    raw = '<code class="revy-raw" title="as recorded">&quot;abc&quot;</code>'
    explained = f"Post {typed}: rating, recorded as &quot;abc&quot;"
    restore = url(Post, "revy_restore", typed, revisions["written"].pk)
    revert = url(Post, "revy_revert", typed, revisions["retyped"].pk)

    for page, button in (
        (client.get(restore), "Yes, restore"),
        (client.get(revert), "Yes, revert this revision"),
    ):
        shown = page.content.decode()
        assert page.status_code == 200
        assert raw in shown
        assert "These recorded values cannot be put back" in shown
        assert explained in shown
        assert "ConvertTrackedField" in shown
        assert button not in shown

    # Posted anyway: refused with the reason, and nothing is written.
    refused_restore = client.post(restore)
    refused_revert = client.post(revert, {"overwrite": "1"})
    assert refused_restore.status_code == 409
    assert refused_revert.status_code == 409
    assert "schemaapp.Post.rating" in refused_revert.content.decode()
    assert Post.objects.get(pk=typed).rating == 5
    assert Revision.objects.count() == len(revisions)


def test_the_admins_undo_pages_still_offer_what_can_be_put_back(old_history):
    revisions, kept, _typed, _gone = old_history
    client = superuser_client()

    page = client.get(url(Post, "revy_restore", kept, revisions["written"].pk))
    assert page.status_code == 200
    assert "cannot be put back" not in page.content.decode()
    assert "Yes, restore" in page.content.decode()
    done = client.post(url(Post, "revy_restore", kept, revisions["written"].pk))
    assert done.status_code == 302
    assert Post.objects.get(pk=kept).headline == "one"
    assert Post.objects.get(pk=kept).count == 12
