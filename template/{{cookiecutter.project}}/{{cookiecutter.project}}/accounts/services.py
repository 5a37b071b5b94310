"""Closing an account, and restoring it from the history.

``close_account`` is the seed README's deletion example: the descriptions
end up on the user's object delta and on every row the deletion takes with
it. ``restore_account`` is its ObjectSnapshot example: the user is rebuilt
from the history, in one query, and saved again with the same id.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from revy import Context
from revy.contrib.django.models import ObjectSnapshot

from {{ cookiecutter.project }}.revisions.models import ObjectDelta

CLOSED = "The account has been closed at the owner's request."
DELETED_WITH_ACCOUNT = "Deleted because the owner's account has been closed."
RESTORED = "The account has been restored."


def close_account(user: Any) -> None:
    """Delete ``user`` and what depends on it, described as an account closure."""
    with (
        Context.via_object_delta_description(CLOSED),
        Context.via_deletion_description(DELETED_WITH_ACCOUNT),
    ):
        user.delete()


def last_deletion(model: Any, pk: Any) -> Any:
    """The delete delta of the ``model`` row ``pk``, with its snapshot; or None."""
    return (
        ObjectDelta.objects.filter(
            action=ObjectDelta.ACTION_DELETE,
            content_type=ContentType.objects.get_for_model(model),
            content_id=pk,
        )
        .annotate(snapshot=ObjectSnapshot(model))
        .order_by("-pk")
        .first()
    )


@transaction.atomic
def restore_account(user_id: int) -> Any:
    """Re-create the deleted user ``user_id`` and what its deletion took with it.

    Rows deleted with the user (by CASCADE) are re-created from their own
    snapshots, and foreign keys that SET_NULL emptied point at the user again.
    Returns the restored user. Raises LookupError if no deletion is recorded.
    """
    User = get_user_model()
    object_delta = last_deletion(User, user_id)
    if object_delta is None:
        raise LookupError(f"No deletion of user {user_id} is recorded.")
    with Context.via(
        object_delta_description=RESTORED,
        revision_description=Context.get_revision_description()
        or f"Restore of the account of user {user_id}",
    ):
        # object_delta.snapshot is an instance of User, ready to be saved again
        # with the same id.
        object_delta.snapshot.save()
        restore_effects(object_delta)
    return User.objects.get(pk=user_id)


def restore_effects(cause: Any) -> None:
    """Undo what the deletion ``cause`` did to other rows, causes first."""
    for effect in cause.effects.select_related("content_type").order_by("pk"):
        model = effect.content_type.model_class()
        if effect.action == ObjectDelta.ACTION_DELETE:
            snapshot = (
                ObjectDelta.objects.filter(pk=effect.pk)
                .annotate(snapshot=ObjectSnapshot(model))
                .get()
                .snapshot
            )
            snapshot.save()
            restore_effects(effect)
        elif effect.action == ObjectDelta.ACTION_UPDATE:
            # A foreign key that SET_NULL (or SET, SET_DEFAULT) changed.
            # Many-to-many links are not fields to set: they come back with
            # the rows of their through model, restored above.
            instance = model._base_manager.get(pk=effect.content_id)
            changed = []
            for attribute in effect.attribute_deltas.all():
                field = model._meta.get_field(attribute.field_name)
                if field.concrete and not field.many_to_many:
                    setattr(instance, field.attname, attribute.old())
                    changed.append(field.name)
            if changed:
                instance.save(update_fields=changed)
