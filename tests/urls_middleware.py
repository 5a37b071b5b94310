"""Views, URLs and an actor resolver for tests/test_middleware.py.

Used with ``override_settings(ROOT_URLCONF="tests.urls_middleware", ...)``.
"""

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.urls import path

from revy import Context
from revy.context import current_frame
from tests.testapp.models import Comment, Organization


def context_values():
    actor = Context.get_actor()
    return {
        "actor": None if actor is None else f"{actor._meta.label}:{actor.pk}",
        "description": Context.get_revision_description(),
        "enabled": Context.is_enabled(),
    }


def comments(request):
    """GET reads; POST creates one comment per ``text`` value."""
    if request.method == "POST":
        created = [Comment.objects.create(text=t) for t in request.POST.getlist("text")]
        return JsonResponse({"pks": [c.pk for c in created], **context_values()})
    return JsonResponse({"count": Comment.objects.count(), **context_values()})


def touch(request, pk):
    """POST saves a comment without changing it: a write that changes nothing."""
    Comment.objects.get(pk=pk).save()
    return JsonResponse(context_values())


async def acomments(request):
    if request.method == "POST":
        created = [
            await Comment.objects.acreate(text=t) for t in request.POST.getlist("text")
        ]
        return JsonResponse({"pks": [c.pk for c in created], **context_values()})
    return JsonResponse({"count": await Comment.objects.acount(), **context_values()})


def description(request):
    """The revision description of the request's context."""
    return JsonResponse({"description": Context.get_revision_description()})


def leaky(request):
    """A view that enters a context and does not leave it (a bug of the
    view, or a half-consumed generator holding a ``with Context...``)."""
    Comment.objects.create(text="by the first user")
    Context().activate()
    return JsonResponse({})


def write(request):
    """Creates a comment; the actor, as text, and how deep the context stack is."""
    Comment.objects.create(text="w")
    return JsonResponse(
        {
            "actor": str(Context.get_actor()),
            "depth": _depth(),
        }
    )


def _depth():
    frame, depth = current_frame(), 0
    while frame is not None:
        frame, depth = frame.parent, depth + 1
    return depth


def organization(request):
    """Act for the organisation named in X-Perform-As-Organization, if the
    user is one of its members (docs/actors.md)."""
    organization_id = request.headers.get("X-Perform-As-Organization")
    if not organization_id:
        return None
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("Sign in to act for an organisation.")
    found = Organization.objects.filter(pk=organization_id, members=user).first()
    if found is None:
        raise PermissionDenied("You are not a member of that organisation.")
    return found


def never(request):
    """A resolver with no opinion: the next one answers."""
    return None


urlpatterns = [
    path("comments/", comments),
    path("comments/<int:pk>/touch/", touch),
    path("acomments/", acomments),
    path("description/", description),
    path("leaky/", leaky),
    path("write/", write),
]
