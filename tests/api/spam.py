"""What the test tasks do, whatever runs them (tests/api/tasks.py for
Django's tasks, tests/api/celery_app.py for Celery)."""

from revy import Context
from tests.testapp.models import Comment


def check(comment_id, word="spam"):
    """Whoever enqueued it tidies the text; the system marks the spam. The
    task's actor, by key."""
    comment = Comment.objects.get(pk=comment_id)
    comment.text = comment.text.strip()
    with (
        Context.via_actor(None),
        Context.via_attribute_delta_description("Spam detected"),
    ):
        comment.is_marked_as_spam = word in comment.text
    comment.save()
    actor = Context.get_actor()
    return None if actor is None else actor.pk
