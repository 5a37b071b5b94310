"""The Context decorator on marked coroutine and generator functions; the
middleware with UTF-8 descriptions and views that leave a context open; an
actor per attribute while actor objects come and go."""

import asyncio
import contextvars
import gc
import json

import pytest
from asgiref.sync import sync_to_async
from django.http import JsonResponse
from django.test import Client, override_settings
from django.urls import path
from django.views import View

from revy import Context
from tests.helpers import ObjectDelta, Revision, User
from tests.testapp.models import Comment

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "revy.contrib.django.middleware.RevyMiddleware",
]


# Views of this module's urlconf ----------------------------------------------


def description(request):
    return JsonResponse({"description": Context.get_revision_description()})


def leaky(request):
    """A view that enters a context and does not leave it (a bug of the
    view, or a half-consumed generator holding a ``with Context...``)."""
    Comment.objects.create(text="by the first user")
    Context().activate()
    return JsonResponse({})


def write(request):
    Comment.objects.create(text="w")
    return JsonResponse(
        {
            "actor": str(Context.get_actor()),
            "depth": _depth(),
        }
    )


def _depth():
    from revy.context import current_frame

    frame, depth = current_frame(), 0
    while frame is not None:
        frame, depth = frame.parent, depth + 1
    return depth


urlpatterns = [
    path("leaky/", leaky),
    path("write/", write),
    path("description/", description),
]


@pytest.fixture
def middleware_settings():
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=MIDDLEWARE):
        yield


# Context as a decorator ------------------------------------------------------


def test_decorating_an_asgiref_marked_coroutine_function_keeps_the_context():
    """``sync_to_async(f)`` and an async class-based view's ``as_view()`` are
    coroutine functions for asgiref and Django (``markcoroutinefunction``);
    the decorator must await them inside the context."""

    def actor():
        return Context.get_actor()

    decorated = Context.via_actor("bot")(sync_to_async(actor))
    assert asyncio.run(decorated()) == "bot"


def test_decorating_an_async_class_based_view_keeps_the_context():
    class AsyncView(View):
        async def get(self, request):
            return JsonResponse({"actor": Context.get_actor()})

    from django.test import RequestFactory

    view = Context.via_actor("bot")(AsyncView.as_view())
    response = asyncio.run(view(RequestFactory().get("/")))
    assert json.loads(response.content) == {"actor": "bot"}


def test_decorating_a_generator_function_is_refused():
    # Its body would run after the call returned, outside the context.
    def actors():
        yield Context.get_actor()

    async def async_actors():
        yield Context.get_actor()

    for function in (actors, async_actors):
        with pytest.raises(TypeError, match="generator function"):
            Context.via_actor("bot")(function)


# The middleware ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("middleware_settings")
def test_a_utf8_commit_message_is_not_mojibake():
    """WSGI and ASGI hand header bytes over decoded as latin-1 (PEP 3333):
    a UTF-8 commit message must be decoded back."""
    raw = "Düzeltme: yazım hatası".encode()
    response = Client().get(
        "/description/", HTTP_X_COMMIT_MESSAGE=raw.decode("latin-1")
    )
    assert response.json()["description"] == "Düzeltme: yazım hatası"


# Actors ------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_attribute_keeps_its_own_actor_when_actor_objects_come_and_go():
    """Actor references are remembered per actor object: an actor freed
    while the frame lives, whose id the next actor object reuses, must not
    lend that object its reference."""
    users = [User.objects.create(username=f"u{i}") for i in range(40)]
    comment = Comment.objects.create(text="x")
    with Context():
        for i, user in enumerate(users):
            actor = User(pk=user.pk, username=user.username)
            with Context.via_actor(actor):
                comment.text = f"v{i}"
            del actor
            comment.save()
            gc.collect()
    updates = ObjectDelta.objects.for_key(Comment, comment.pk).filter(
        action=ObjectDelta.ACTION_UPDATE
    )
    recorded = [
        (a.new_value, a.actor_id) for d in updates for a in d.attribute_deltas.all()
    ]
    expected = [(f"v{i}", str(user.pk)) for i, user in enumerate(users)]
    assert recorded == expected


@pytest.mark.django_db
@pytest.mark.usefixtures("middleware_settings")
def test_a_view_that_leaves_a_context_open_does_not_poison_later_requests(alice, bob):
    """A view that leaves a context open fails its own request; the next
    request on the thread starts with a clean stack and its own revision."""

    def scenario():
        first = Client(raise_request_exception=False)
        first.force_login(alice)
        first.get("/leaky/")
        after_leak = Context.get_current()
        second = Client()
        second.force_login(bob)
        return after_leak, second.post("/write/").json()

    # Run in a copy of the context so that a leak cannot reach other tests.
    after_leak, answer = contextvars.copy_context().run(scenario)
    assert Revision.objects.count() == 2  # One per request.
    assert (after_leak, answer) == (None, {"actor": "bob", "depth": 1})
