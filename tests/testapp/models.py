"""Models of the test project: the seed README's examples and every field type."""

import uuid

from django.conf import settings
from django.db import models


class Organization(models.Model):
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="organizations"
    )


class Comment(models.Model):
    text = models.TextField()
    is_marked_as_spam = models.BooleanField(default=False)


class SpamComment(Comment):
    """A proxy: recorded as its concrete model, Comment."""

    class Meta:
        proxy = True


class Invoice(models.Model):
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    exchange_rate = models.DecimalField(max_digits=12, decimal_places=4)
    local_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    updated_at = models.DateTimeField(auto_now=True)


class Post(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    title = models.CharField(max_length=200)


class Place(models.Model):
    name = models.CharField(max_length=100)


class Restaurant(Place):
    """Multi-table inheritance: the child's fields and the parent's are recorded."""

    serves_pizza = models.BooleanField(default=False)


class UUIDItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=50)


class CodeItem(models.Model):
    code = models.CharField(primary_key=True, max_length=20)
    name = models.CharField(max_length=50)


class Untracked(models.Model):
    name = models.CharField(max_length=50)


class Counter(models.Model):
    value = models.IntegerField(default=0)


class EveryField(models.Model):
    """One field of every built-in type whose values revy must round-trip."""

    char = models.CharField(max_length=100, blank=True, default="")
    text = models.TextField(blank=True, default="")
    slug = models.SlugField(blank=True, default="")
    email = models.EmailField(blank=True, default="")
    url = models.URLField(blank=True, default="")
    small = models.SmallIntegerField(null=True)
    integer = models.IntegerField(null=True)
    big = models.BigIntegerField(null=True)
    positive_small = models.PositiveSmallIntegerField(null=True)
    positive = models.PositiveIntegerField(null=True)
    positive_big = models.PositiveBigIntegerField(null=True)
    floating = models.FloatField(null=True)
    decimal = models.DecimalField(max_digits=20, decimal_places=10, null=True)
    boolean = models.BooleanField(null=True)
    date = models.DateField(null=True)
    datetime = models.DateTimeField(null=True)
    time = models.TimeField(null=True)
    duration = models.DurationField(null=True)
    uuid = models.UUIDField(null=True)
    json = models.JSONField(null=True)
    binary = models.BinaryField(null=True)
    ip = models.GenericIPAddressField(null=True)
    file = models.FileField(blank=True, default="")
    foreign = models.ForeignKey(
        Comment, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    one = models.OneToOneField(
        Place, null=True, on_delete=models.SET_NULL, related_name="+"
    )
