"""Tasks of Django's tasks framework (revy.contrib.tasks), run by a
db_worker process in tests/test_tasks_django.py."""

from revy.contrib.tasks import task
from tests.api import spam
from tests.testapp.models import Comment


@task()
def detect_spam(comment_id, word="spam"):
    """Whoever enqueued it tidies the text; the system marks the spam."""
    return spam.check(comment_id, word)


@task(takes_context=True)
def with_task_context(context, comment_id):
    """A task that asks for Django's task context still gets it."""
    comment = Comment.objects.get(pk=comment_id)
    comment.text = f"attempt {context.attempt}"
    comment.save()
    return context.task_result.id
