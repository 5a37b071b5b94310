"""Models whose schema changes under history (tests/test_schema_changes.py)
and models with per-field rules (tests/test_field_rules.py).

``Post`` was ``Article``: its migrations rename the model and its ``title``
(now ``headline``), remove ``body``, and retype ``count`` (with a
converter of its history) and ``rating`` (without one) from text to
integers.
"""

from django.db import models


class Post(models.Model):
    headline = models.CharField(max_length=100)
    count = models.IntegerField(null=True)
    rating = models.IntegerField(null=True)


class Note(models.Model):
    text = models.CharField(max_length=100, default="")
    secret = models.CharField(max_length=100, default="")
    views = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    tags = models.ManyToManyField("Tag", blank=True)


class Tag(models.Model):
    name = models.CharField(max_length=50)
