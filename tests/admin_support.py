"""What the admin tests share: staff users with chosen permissions, the URLs
of revy's admin pages, and a novel with a history of every kind."""

from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from revy import Context
from tests.adminapp.models import Author, Chapter, Genre, Novel, Review
from tests.helpers import Revision, User

LONG = "It was a bright cold day in April, and the clocks were striking thirteen. "


def staff(username, *permissions, csrf=False):
    """A signed-in client of a staff user with ``permissions``
    ("app_label.codename"), and the user."""
    user = User.objects.create(username=username, is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client, user


def url(model, view, *args):
    """The URL of ``view`` of ``model``'s admin: "history", "change",
    "revy_as_of", "revy_compare", "revy_restore", "revy_revert",
    "revy_recover", "revy_recover_object"..."""
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def revision_url(view, *args):
    opts = Revision._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def written_novel(actor):
    """A novel created by ``actor``, then edited by the system: its title,
    status, synopsis, secret token and genres change."""
    with Context.via(actor=actor, revision_description="Start the novel"):
        author = Author.objects.create(name="George")
        fantasy = Genre.objects.create(name="Fantasy")
        satire = Genre.objects.create(name="Satire")
        novel = Novel.objects.create(
            title="Nineteen",
            author=author,
            synopsis=LONG * 3,
            api_token="tok-first-secret",
        )
        novel.genres.add(fantasy)
        Chapter.objects.create(novel=novel, number=1, title="One")
    with Context.via(actor=None, revision_description="Copy-editing"):
        novel.title = "Nineteen Eighty-Four"
        novel.status = Novel.PUBLISHED
        novel.synopsis = LONG * 3 + "Winston Smith is tired."
        novel.api_token = "tok-second-secret"
        novel.save()
        novel.genres.remove(fantasy)
        novel.genres.add(satire)
    with Context.via(actor=actor, revision_description="A review"):
        Review.objects.create(novel=novel, text="Chilling")
    return novel
