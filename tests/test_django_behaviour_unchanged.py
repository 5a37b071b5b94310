"""Installing revy does not change what Django does.

Each test here is a kind of model or call from Django's own test suite that
revy once crashed on, refused, or answered with an error of its own
(``make compat`` runs that suite itself); each now works as it does without
revy, and is recorded.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import FieldError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import expressions
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.db.transaction import TransactionManagementError
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from revy import Context
from revy.contrib.django import history
from revy.contrib.django.deltas import NotRecordable
from revy.contrib.django.encoding import ValueEncoder
from revy.contrib.django.rows import read_back
from tests.helpers import (
    CREATE,
    Revision,
    decoded,
    delta_of,
    deltas_of,
    nothing_recorded,
    stored,
)
from tests.testapp.models import (
    Article,
    Band,
    BandMember,
    Book,
    Citizen,
    Club,
    ClubMembership,
    Comment,
    Counter,
    Country,
    EveryField,
    Musician,
    Place,
    Shelf,
    TeamName,
    TeamPlayer,
    Untracked,
    WrappedKeyRow,
)

pytestmark = pytest.mark.django_db


# Relations as Django resolves them ---------------------------------------------


def test_members_through_a_to_field_are_recorded_by_primary_key():
    band = Band.objects.create(name="b")
    jean, ringo = (
        Musician.objects.create(name="Jean"),
        Musician.objects.create(name="Ringo"),
    )
    with Context():
        band.members.add(jean, ringo)
        band.members.remove(ringo)
    assert history.members_as_of(band, "members") == {jean.pk}
    assert history.members_as_of(jean, "bands") == {band.pk}
    assert history.members_as_of(ringo, "bands") == set()


def test_through_rows_saved_directly_through_a_to_field_are_recorded_by_key():
    band = Band.objects.create(name="b")
    jean = Musician.objects.create(name="Jean")
    with Context():
        membership = BandMember.objects.create(band=band, musician=jean)
    assert history.members_as_of(band, "members") == {jean.pk}
    with Context():
        membership.delete()
    assert history.members_as_of(band, "members") == set()


def test_through_rows_whose_ends_are_multi_column_foreign_objects_are_recorded():
    country = Country.objects.create(name="c")
    club = Club.objects.create(country=country)
    citizen = Citizen.objects.create(country=country, name="n")
    with Context():
        row = ClubMembership.objects.create(
            country=country, club_id=club.pk, citizen_id=citizen.pk
        )
    assert list(club.citizens.all()) == [citizen]
    assert delta_of(ClubMembership, row.pk).action == CREATE


# Values as the column receives them ---------------------------------------------


def test_a_field_that_converts_in_get_db_prep_save_is_recorded_as_converted():
    with Context():
        player = TeamPlayer.objects.create(name="p", team=TeamName("Spartak"))
        player.team = TeamName("Dynamo")
        player.save()
    first, second = deltas_of(TeamPlayer, player.pk)
    assert stored(first)["team"] == (None, "Spartak")
    assert decoded(second)["team"] == (TeamName("Spartak"), TeamName("Dynamo"))


def test_a_model_instance_given_to_a_foreign_keys_attname_is_recorded_as_its_key():
    book = Book.objects.create(title="t", shelf=Shelf.objects.create(name="a"))
    other = Shelf.objects.create(name="b")
    with Context():
        Book.objects.update_or_create(pk=book.pk, defaults={"shelf_id": other})
    assert stored(deltas_of(Book, book.pk)[-1])["shelf"][1] == other.pk


@pytest.mark.django_db(transaction=True)
def test_a_key_its_own_field_cannot_read_back_is_refused_by_name():
    with (
        Context(),
        pytest.raises(NotRecordable, match=r"testapp\.WrappedKeyRow row"),
    ):
        WrappedKeyRow.objects.create(name="x")
    assert not WrappedKeyRow.objects.exists()
    assert nothing_recorded()


def test_a_decimal_field_without_places_is_recorded_as_given():
    # Django 6.1 allows DecimalField() without max_digits and decimal_places:
    # the database keeps every digit, so there is nothing to round or read back.
    field = models.DecimalField()
    assert ValueEncoder().encode(field, Decimal("0.990")) == "0.990"
    assert not read_back(field, Decimal("0.12345678901234567890"))


@pytest.mark.skipif(
    not hasattr(expressions, "JSONNull"), reason="JSONNull is new in Django 6.1"
)
def test_bulk_update_to_json_null_records_the_null_stored():
    obj = EveryField.objects.create(json={"k": 1})
    obj.json = expressions.JSONNull()
    with Context():
        EveryField.objects.bulk_update([obj], ["json"])
    assert decoded(deltas_of(EveryField, obj.pk)[-1])["json"] == ({"k": 1}, None)


# Django's errors first ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_value_django_refuses_gets_djangos_own_error():
    with Context(), pytest.raises(TypeError, match="expected a number"):
        Counter.objects.create(value=[])
    assert nothing_recorded()


def test_updating_a_many_to_many_field_gets_djangos_field_error_even_with_no_rows():
    with Context(), pytest.raises(FieldError, match="Cannot update model field"):
        Article.objects.update(tags=None)


def test_bulk_update_of_a_reverse_relation_gets_djangos_value_error():
    place = Place.objects.create(name="p")
    with Context(), pytest.raises(ValueError, match="concrete fields"):
        Place.objects.bulk_update([place], ["restaurant"])
    assert nothing_recorded()


def test_an_update_of_a_sliced_queryset_gets_djangos_own_error():
    with Context(), pytest.raises(TypeError, match="Cannot update a query once"):
        Comment.objects.all()[:1].update(text="x")


# Relations revy does not record -------------------------------------------------


def test_a_relation_between_untracked_models_keeps_djangos_fast_add():
    """Django adds with one insert that ignores the rows already there,
    unless someone listens to the relation's m2m_changed: then it reads the
    rows already there first, and sends the keys it adds."""
    follower, followed = (Untracked.objects.create(name=n) for n in "ab")
    with Context(), CaptureQueriesContext(connection) as queries:
        follower.follows.add(followed)
    assert not m2m_changed.has_listeners(Untracked.follows.through)
    assert [q["sql"].split()[0] for q in queries] == ["INSERT"]
    assert list(follower.follows.all()) == [followed]
    assert nothing_recorded()


def test_a_relation_tracked_from_a_settings_change_on_is_recorded():
    follower, followed = (Untracked.objects.create(name=n) for n in "ab")
    with override_settings(REVY_UNTRACKED_MODELS=[]):
        assert m2m_changed.has_listeners(Untracked.follows.through)
        with Context():
            follower.follows.add(followed)
        assert decoded(delta_of(Untracked, follower.pk)) == {
            "follows": ([], [followed.pk])
        }
    assert not m2m_changed.has_listeners(Untracked.follows.through)


# revy's rows stay revy's --------------------------------------------------------


def test_receivers_connected_without_a_sender_are_not_sent_revisions():
    received = []

    def receiver(sender, instance, **kwargs):
        received.append(sender)

    pre_save.connect(receiver)
    post_save.connect(receiver)
    try:
        with Context():
            Comment.objects.create(text="t")
    finally:
        pre_save.disconnect(receiver)
        post_save.disconnect(receiver)
    assert received == [Comment, Comment]
    assert Revision.objects.count() == 1


def test_receivers_connected_to_the_revision_model_are_sent_its_rows():
    received = []

    def receiver(sender, instance, **kwargs):
        received.append(instance)

    post_save.connect(receiver, sender=Revision)
    try:
        with Context():
            Comment.objects.create(text="t")
    finally:
        post_save.disconnect(receiver, sender=Revision)
    assert received == [Revision.objects.get()]


def test_a_save_in_a_broken_transaction_gets_djangos_own_error():
    """Django's transactions.AtomicErrorsTests: the save's read of its row
    (with its UPDATE on PostgreSQL) goes through the driver's cursor, and
    still refuses to run in a transaction an error broke, as Django does."""
    comment = Comment.objects.create(text="a")
    with transaction.atomic():
        clash = Comment(pk=comment.pk, text="b")
        with pytest.raises(IntegrityError), Context():
            clash.save(force_insert=True)
        with pytest.raises(TransactionManagementError, match="atomic"), Context():
            clash.save(force_update=True)
    assert Comment.objects.get(pk=comment.pk).text == "a"
