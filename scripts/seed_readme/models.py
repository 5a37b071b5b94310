"""The models the seed README's examples use."""

from django.conf import settings
from django.db.models import (
    BooleanField,
    DecimalField,
    ForeignKey,
    Model,
    TextField,
)

from revy.contrib.django.models import CASCADE

User = settings.AUTH_USER_MODEL


class Organization(Model):
    name = TextField()


class Comment(Model):
    text = TextField()
    is_marked_as_spam = BooleanField(default=False)


class Post(Model):
    author = ForeignKey(
        User,
        on_delete=CASCADE,
    )
    title = TextField(default="")


class Invoice(Model):
    amount = DecimalField(max_digits=12, decimal_places=2)
    exchange_rate = DecimalField(max_digits=12, decimal_places=4)
    local_amount = DecimalField(max_digits=14, decimal_places=2)
