"""Spam detection: the system marks comments, in a revision of its own."""

import re

from revy import Context

from {{ cookiecutter.project }}.blog.models import Comment

DETECTED = "Detected by the system."
# A deliberately small rule set: replace it with your spam filter.
_SPAMMY = re.compile(r"(https?://\S+.*){2,}|\b(cheap|casino|viagra|crypto giveaway)\b", re.I)


def looks_like_spam(text: str) -> bool:
    return bool(_SPAMMY.search(text))


def mark_as_spam(comment: Comment) -> None:
    """The seed README's first example, as it is written there."""
    with (
        Context.via_actor(None),
        Context.via_revision_description(DETECTED),
    ):
        comment.is_marked_as_spam = True
        comment.save()


def detect_spam() -> list[Comment]:
    """Mark every unmarked comment that looks like spam; return them."""
    found = [
        comment
        for comment in Comment.objects.filter(is_marked_as_spam=False)
        if looks_like_spam(comment.text)
    ]
    for comment in found:
        mark_as_spam(comment)
    return found
