"""The spam check, a task: enqueued when a comment is added, run by a worker.

It runs as whoever added the comment (revy.contrib.tasks hands the request's
context over), so the comment's history shows them, and the system's mark,
in a revision that names the task and the request's revision.
"""

from revy import Context
from revy.contrib.tasks import task

from {{ cookiecutter.project }}.blog.models import Comment
from {{ cookiecutter.project }}.blog.spam import DETECTED, looks_like_spam


@task()
def check_comment(comment_id: int) -> bool:
    """Mark the comment as spam if it looks like it; whether it did."""
    comment = Comment.objects.filter(pk=comment_id).first()
    if comment is None or comment.is_marked_as_spam or not looks_like_spam(comment.text):
        return False
    with Context.via_actor(None), Context.via_attribute_delta_description(DETECTED):
        # <-- The system marks it; the revision is still the enqueuer's.
        comment.is_marked_as_spam = True
    comment.save()
    return True
