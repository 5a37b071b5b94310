"""Posts and comments, wired to revy's deletion handlers.

Deleting a user deletes their posts (CASCADE), the comments on those posts
(CASCADE), and empties the author of their comments elsewhere (SET_NULL):
revy records all of it in the deletion's revision, each effect naming the
delete that caused it.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from revy.contrib.django.models import CASCADE, SET_NULL


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=CASCADE, related_name="posts")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
    )
    text = models.TextField()
    is_marked_as_spam = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:50]
