"""People and the organisations they act for.

Every foreign key here uses revy's deletion handlers (Django's own,
re-exported by revy), so what a deletion takes with it is recorded in the
same revision, each effect naming its cause.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from revy.contrib.django.models import CASCADE


class User(AbstractUser):
    """The project's own user model, as Django advises for a new project."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class Organization(models.Model):
    """A company or team; its members can act for it (X-Perform-As-Organization)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizations"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"
