from django.apps import apps
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from {{ cookiecutter.project }}.revisions import table
from {{ cookiecutter.project }}.revisions.models import Revision


@staff_member_required
def recent(request: HttpRequest) -> HttpResponse:
    """The latest revisions, with every change, actor and description."""
    revisions = table.revisions_with_deltas(Revision.objects.order_by("-pk")[:50])
    return render(request, "revisions/recent.html", {"revisions": revisions})


@staff_member_required
def object_history(request: HttpRequest, label: str, pk: str) -> HttpResponse:
    """Every change of one object, as the history command prints it."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise Http404(f"No model {label!r}.") from None
    try:
        history = table.history_of(model, pk)
    except (ValidationError, ValueError):
        raise Http404(f"{pk!r} is no key of {label}.") from None
    return render(
        request,
        "revisions/object_history.html",
        {"label": label, "pk": pk, "table": history},
    )
