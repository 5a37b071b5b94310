"""Models of the admin tests (issue 21): choices, a foreign key, a
many-to-many relation, long text, a secret, inlines, multi-table
inheritance, a proxy, UUID and string keys."""

import uuid

from django.db import models

from revy.contrib.django.models import CASCADE, SET_NULL


class Author(models.Model):
    name = models.CharField(max_length=100)

    def __str__(self):
        return self.name


class Genre(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self):
        return self.name


class Novel(models.Model):
    DRAFT, PUBLISHED = "draft", "published"
    STATUSES = [(DRAFT, "Draft"), (PUBLISHED, "Published")]

    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=STATUSES, default=DRAFT)
    author = models.ForeignKey(
        Author, on_delete=CASCADE, null=True, blank=True, related_name="novels"
    )
    genres = models.ManyToManyField(Genre, blank=True, related_name="novels")
    synopsis = models.TextField(blank=True, default="")
    api_token = models.CharField(max_length=64, blank=True, default="")

    def __str__(self):
        return self.title


class Chapter(models.Model):
    """Edited inline on its novel's page; deleted with it."""

    novel = models.ForeignKey(Novel, on_delete=CASCADE, related_name="chapters")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=100)

    def __str__(self):
        return f"{self.number}. {self.title}"


class Review(models.Model):
    """Kept when its novel goes: the novel is set to null."""

    novel = models.ForeignKey(
        Novel, on_delete=SET_NULL, null=True, blank=True, related_name="reviews"
    )
    text = models.CharField(max_length=200)

    def __str__(self):
        return self.text


class Edition(Novel):
    """Multi-table inheritance: an edition is a novel too."""

    isbn = models.CharField(max_length=20)


class DraftNovel(Novel):
    """A proxy, with an admin of its own."""

    class Meta:
        proxy = True


class Gadget(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50)

    def __str__(self):
        return self.name


class Code(models.Model):
    """A string key that needs quoting in URLs."""

    code = models.CharField(primary_key=True, max_length=30)
    label = models.CharField(max_length=50)

    def __str__(self):
        return self.label
