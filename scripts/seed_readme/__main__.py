"""Run the seed README's examples and check what they recorded (see __init__)."""

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="seed-readme-only",
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "revy.contrib.django",  # the README's Setup
        "seed_readme",
    ],
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from seed_readme.models import Comment, Invoice, Organization, Post  # noqa: E402

import revy  # noqa: E402
from revy import Context  # noqa: E402
from revy.contrib.django.models import ObjectDelta, Revision  # noqa: E402


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def latest_revision() -> Revision:
    return Revision.objects.order_by("-pk").first()


def fields_of(revision: Revision) -> dict:
    """{(model, field): (old, new, actor, description)} of a revision."""
    return {
        (delta.content_type.model, attribute.field_name): (
            attribute.old_value,
            attribute.new_value,
            attribute.actor,
            attribute.description,
        )
        for delta in revision.object_deltas.all()
        for attribute in delta.attribute_deltas.all()
    }


def idiomatic_and_declarative_syntax() -> None:
    comment = Comment.objects.create(text="Buy cheap watches")
    # seed: Idiomatic and Declarative Syntax
    with (
        Context.via_actor(None),
        Context.via_revision_description("Detected by the system."),
    ):
        comment.is_marked_as_spam = True
        comment.save()
    # end of seed
    revision = latest_revision()
    check(
        revision.description == "Detected by the system.",
        "a revision described 'Detected by the system.'",
    )
    check(
        fields_of(revision)
        == {("comment", "is_marked_as_spam"): (False, True, None, "")},
        "the comment marked as spam, by the system (actor None)",
    )


def generic_actors(alice: User, acme: Organization) -> None:
    # seed: Generic Actors
    @Context()
    def view(request):
        if request.META.get("HTTP_X_PERFORM_AS_ORGANIZATION"):
            Context.set_actor(request.organization)
        else:
            Context.set_actor(request.user)

    # end of seed
    plain = SimpleNamespace(META={}, user=alice, organization=None)
    for_acme = SimpleNamespace(
        META={"HTTP_X_PERFORM_AS_ORGANIZATION": "acme"}, user=alice, organization=acme
    )
    check(view(plain) is None and view(for_acme) is None, "the decorated view runs")

    # The same view, saving a comment, to see who acted.
    @Context()
    def saving_view(request):
        if request.META.get("HTTP_X_PERFORM_AS_ORGANIZATION"):
            Context.set_actor(request.organization)
        else:
            Context.set_actor(request.user)
        Comment.objects.create(text=f"by {request.META or 'the user'}")

    for request, actor in ((plain, alice), (for_acme, acme)):
        saving_view(request)
        created = latest_revision().object_deltas.get()
        check(created.actor == actor, f"a change made by {actor!r}")


def multiple_actors_in_one_revision(alice: User) -> None:
    invoice = Invoice.objects.create(
        amount=Decimal("10.00"),
        exchange_rate=Decimal("2.0000"),
        local_amount=Decimal("20.00"),
    )

    def deserialize(data):
        instance = Invoice.objects.get(pk=data["id"])
        instance.amount = Decimal(data["amount"])
        return instance

    # seed: Multiple Actors In One Revision
    from revy import Context as C

    def view(request):
        with C.via_actor(request.user):
            # <-- The actor is `request.user` in this block.
            C.set_revision_description(
                request.META.get("HTTP_X_COMMIT_MESSAGE"),
            )
            instance = deserialize(request.data)
            local_amount = instance.amount * instance.exchange_rate
            if instance.local_amount != local_amount:
                with (
                    C.via_actor(None),
                    C.via_attribute_delta_description(
                        "Corrected by the system.",
                    ),
                ):
                    # <-- The actor is `None` in this block.
                    instance.local_amount = local_amount
                # <-- The actor here is `request.user` again.
            instance.save()

    # end of seed
    request = SimpleNamespace(
        META={"HTTP_X_COMMIT_MESSAGE": "Raise the amount"},
        user=alice,
        data={"id": invoice.pk, "amount": "15.00"},
    )
    view(request)
    revision = latest_revision()
    check(revision.description == "Raise the amount", "the commit message describes it")
    changed = fields_of(revision)
    check(
        changed[("invoice", "amount")][1:] == ("15.00", alice, ""),
        "the amount changed by the user",
    )
    check(
        changed[("invoice", "local_amount")][1:]
        == ("30.00", None, "Corrected by the system."),
        "the local amount corrected by the system, in the same revision",
    )


def disabling_automatic_delta_generation() -> None:
    before = Revision.objects.count()

    # seed: Disabling Automatic Delta Generation Temporarily
    @Context()
    def some_task():
        Context.disable()
        ...
        Context.enable()

    # end of seed
    some_task()

    # seed: (the second form)
    @Context()
    def other_task():
        with Context.as_disabled():
            ...  # <-- Context is disabled in this block.
        # <-- Here context is re-enabled.

    # end of seed

    # The same two forms, with a change where the examples have `...`.
    @Context()
    def task_with_changes():
        Context.disable()
        Comment.objects.create(text="not recorded")
        Context.enable()
        with Context.as_disabled():
            Comment.objects.create(text="not recorded either")
        Comment.objects.create(text="recorded")

    other_task()
    task_with_changes()
    check(
        Revision.objects.count() == before + 1, "one revision, for the enabled change"
    )
    created = latest_revision().object_deltas.get()
    check(
        Comment.objects.get(pk=created.content_id).text == "recorded",
        "only the change made while enabled is recorded",
    )


def foreign_key_deletion_handler() -> int:
    """Close an account; return the id the user had."""
    user = User.objects.create(username="closing")
    user_id = user.pk
    post = Post.objects.create(author=user, title="Hello")
    # seed: Foreign Key Deletion Handler
    with (
        Context.via_object_delta_description(
            "The account has been closed at the owner's request.",
        ),
        Context.via_deletion_description(
            "Deleted because the owner's account has been closed.",
        ),
    ):
        user.delete()
    # end of seed
    deltas = {d.content_type.model: d for d in latest_revision().object_deltas.all()}
    check(
        deltas["user"].description
        == "The account has been closed at the owner's request.",
        "the user's deletion is described",
    )
    check(
        deltas["post"].action == ObjectDelta.ACTION_DELETE
        and deltas["post"].deletion_description
        == "Deleted because the owner's account has been closed."
        and deltas["post"].cause_id == deltas["user"].pk,
        "the post went with it, described, caused by the user's deletion",
    )
    check(not Post.objects.filter(pk=post.pk).exists(), "the post is gone")
    return user_id


def getting_snapshots_of_object_deltas(deleted_user_id: int) -> None:
    DELETED_USER_ID = deleted_user_id  # noqa: N806 (the README's name)
    # seed: Getting Snapshots of Object Deltas
    from django.contrib.contenttypes.models import ContentType

    from revy.contrib.django.models import (
        ObjectDelta,
        ObjectSnapshot,
    )

    object_delta = (
        ObjectDelta.objects.filter(
            action=ObjectDelta.ACTION_DELETE,
            content_type=ContentType.objects.get_for_model(User),
            content_id=DELETED_USER_ID,
        )
        .annotate(snapshot=ObjectSnapshot(User))
        .order_by(
            "-pk",
        )
        .first()
    )

    # object_delta.snapshot is an instance of User class.
    # And it is ready to be saved again, with the same ID if you don't change it.
    object_delta.snapshot.save()
    # end of seed
    restored = User.objects.get(pk=DELETED_USER_ID)
    check(restored.username == "closing", "the deleted user is back, with its id")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seed_readme")
    parser.add_argument(
        "--installed",
        action="store_true",
        help="fail unless revy is imported from this Python's site-packages",
    )
    arguments = parser.parse_args()
    origin = Path(revy.__file__).resolve().parent
    print(f"revy {revy.__version__} from {origin}")
    if arguments.installed:
        check(
            origin.is_relative_to(Path(sys.prefix).resolve())
            and "site-packages" in origin.parts,
            f"revy is the one installed in {sys.prefix}",
        )
    call_command("migrate", run_syncdb=True, verbosity=0)
    alice = User.objects.create(username="alice")
    acme = Organization.objects.create(name="Acme")
    idiomatic_and_declarative_syntax()
    generic_actors(alice, acme)
    multiple_actors_in_one_revision(alice)
    disabling_automatic_delta_generation()
    getting_snapshots_of_object_deltas(foreign_key_deletion_handler())
    print("The seed README's examples ran as written.")


if __name__ == "__main__":
    main()
