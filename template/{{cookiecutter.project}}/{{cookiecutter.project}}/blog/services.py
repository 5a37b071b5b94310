"""Adding a comment: saved by the request's actor, checked for spam later."""

from typing import Any

from {{ cookiecutter.project }}.blog.models import Comment, Post
from {{ cookiecutter.project }}.blog.tasks import check_comment


def add_comment(post: Post, author: Any, text: str) -> Comment:
    """Save the comment; its spam check is enqueued when the transaction
    commits, and runs as whoever added it."""
    comment = Comment.objects.create(post=post, author=author, text=text)
    check_comment.enqueue_on_commit(comment.pk)
    return comment
