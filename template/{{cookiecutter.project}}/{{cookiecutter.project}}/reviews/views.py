"""The review pages: the reviewers' queue, a proposal with its three-way
comparison and the steps one may take on it, and a proposer's own
proposals, which they can edit or withdraw."""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms.models import construct_instance, modelform_factory
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from revy.contrib.django.proposals import (
    ABSENT,
    ProposalConflict,
    ProposalStateError,
    get_proposal_model,
)

from {{ cookiecutter.project }}.reviews import rules, services
from {{ cookiecutter.project }}.reviews.models import Decision
from {{ cookiecutter.project }}.reviews.services import ReviewRefused


class QueueFilter(forms.Form):
    model = forms.ChoiceField(required=False)
    proposer = forms.CharField(required=False, max_length=150)
    older_than = forms.IntegerField(required=False, min_value=0, label="Older than (days)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        touched = get_proposal_model().objects.filter(status="open")
        types = ContentType.objects.filter(pk__in=touched.values("deltas__content_type"))
        self.fields["model"].choices = [("", "Any")] + sorted(
            (f"{t.app_label}.{t.model}", t.name) for t in types
        )

    def apply(self, proposals: QuerySet) -> QuerySet:
        data = self.cleaned_data
        if data["model"]:
            app_label, model = data["model"].split(".")
            proposals = proposals.filter(
                deltas__content_type__app_label=app_label, deltas__content_type__model=model
            )
        if data["proposer"]:
            proposals = proposals.filter(
                decisions__action=Decision.SUBMITTED,
                decisions__actor_id__in=self.user_keys(data["proposer"]),
            )
        if data["older_than"] is not None:
            since = timezone.now() - timedelta(days=data["older_than"])
            proposals = proposals.filter(created_at__lte=since)
        return proposals.distinct()

    @staticmethod
    def user_keys(username: str) -> list[str]:
        users = get_user_model().objects.filter(username__iexact=username)
        return [str(pk) for pk in users.values_list("pk", flat=True)]


def status_of(proposal: Any) -> str:
    """The proposal's status, or "changes requested" while it waits for them."""
    if proposal.is_open:
        last = proposal.decisions.exclude(action=Decision.REBASED).last()
        if last is not None and last.action == Decision.CHANGES_REQUESTED:
            return "changes requested"
    return proposal.get_status_display()


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """The open proposals, oldest first, filtered by model, proposer and age."""
    if not rules.may_review(request.user):
        raise PermissionDenied("Reviewing needs the reviews.review_proposal permission.")
    filters = QueueFilter(request.GET or None)
    proposals = get_proposal_model().objects.filter(status="open").order_by("created_at", "pk")
    if filters.is_bound and filters.is_valid():
        proposals = filters.apply(proposals)
    now = timezone.now()
    rows = [
        {
            "proposal": p,
            "proposer": rules.proposer(p),
            "age": now - p.created_at,
            "models": sorted({d.content_type.name for d in p.deltas.all()}),
            "status": status_of(p),
        }
        for p in proposals.prefetch_related("deltas__content_type")
    ]
    return render(request, "reviews/queue.html", {"filters": filters, "rows": rows})


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """The proposals the user submitted, open ones first."""
    proposals = (
        get_proposal_model()
        .objects.filter(
            decisions__action=Decision.SUBMITTED,
            decisions__actor_content_type=ContentType.objects.get_for_model(request.user),
            decisions__actor_id=str(request.user.pk),
        )
        .distinct()
        .order_by("-created_at", "-pk")
    )
    rows = [{"proposal": p, "status": status_of(p)} for p in proposals]
    rows.sort(key=lambda row: not row["proposal"].is_open)
    return render(request, "reviews/mine.html", {"rows": rows})


def visible_proposal(request: HttpRequest, pk: int) -> Any:
    proposal = get_object_or_404(get_proposal_model(), pk=pk)
    if not (rules.may_review(request.user) or request.user in rules.authors(proposal)):
        raise PermissionDenied("Only reviewers and its proposer see a proposal.")
    return proposal


def shown(value: Any) -> str:
    return "" if value is ABSENT else str(value)


def comparison(proposal: Any, conflicts: list[Any]) -> list[dict[str, Any]]:
    """Per object: its fields with base, proposed and current value, the
    conflicting ones marked."""
    conflicting = {c.key for c in conflicts if c.kind == "value"}
    objects = []
    for change in proposal.changes():
        label = change.model._meta.label if change.model else "?"
        fields = [
            {
                "name": f.name,
                "base": shown(f.base),
                "proposed": shown(f.proposed),
                "current": shown(f.current),
                "changed_since": f.changed_since and f.base is not ABSENT,
                "conflict": (label, change.pk, f.name) in conflicting,
            }
            for f in change.fields
        ]
        name = change.model._meta.verbose_name if change.model else "deleted model"
        objects.append({"change": change, "name": name, "fields": fields})
    return objects


def page(request: HttpRequest, proposal: Any, status: int = 200) -> HttpResponse:
    user = request.user
    conflicts = proposal.conflicts() if proposal.is_open else []
    is_author = user in rules.authors(proposal)
    context = {
        "proposal": proposal,
        "status": status_of(proposal),
        "proposer": rules.proposer(proposal),
        "objects": comparison(proposal, conflicts),
        "conflicts": conflicts,
        "resolvable": [c for c in conflicts if c.resolvable],
        "decisions": proposal.decisions.all(),
        "is_author": is_author,
        "may_review": rules.may_review(user),
        "editable": is_author and proposal.is_open and editable_change(proposal) is not None,
    }
    return render(request, "reviews/proposal.html", context, status=status)


@login_required
def proposal(request: HttpRequest, pk: int) -> HttpResponse:
    """One proposal: base / proposed / current per field, conflicts marked."""
    return page(request, visible_proposal(request, pk))


def resolutions(request: HttpRequest, conflicts: list[Any]) -> dict[Any, str]:
    """The reviewer's choice per value conflict: fields "resolve-<n>"."""
    chosen = {}
    for number, conflict in enumerate(conflicts):
        choice = request.POST.get(f"resolve-{number}", "")
        if choice:
            chosen[conflict] = choice
    return chosen


@require_POST
@login_required
def act(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve, reject, request changes, rebase or withdraw."""
    proposal = visible_proposal(request, pk)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip()
    user = request.user
    try:
        if action == "approve":
            revision = services.approve(proposal, user)
            messages.success(request, f"Approved: applied as revision {revision.pk}.")
        elif action == "reject":
            services.reject(proposal, user, reason)
            messages.success(request, "Rejected; the proposer is told why.")
        elif action == "request_changes":
            services.request_changes(proposal, user, reason)
            messages.success(request, "Changes requested; the proposer is told which.")
        elif action == "rebase":
            resolvable = [c for c in proposal.conflicts() if c.resolvable]
            left = services.rebase(proposal, user, resolutions(request, resolvable))
            messages.success(
                request,
                f"Rebased on today's values; {len(left)} conflict(s) left."
                if left
                else "Rebased on today's values: no conflicts left.",
            )
        elif action == "withdraw":
            services.withdraw(proposal, user, reason)
            messages.success(request, "Withdrawn.")
        else:
            raise ReviewRefused(f"There is no action {action!r}.")
    except ReviewRefused as refused:
        messages.error(request, str(refused))
        return page(request, proposal, status=403)
    except ProposalConflict:
        messages.error(request, "It conflicts with changes made since: rebase it first.")
        return page(request, proposal, status=409)
    except (ProposalStateError, ValueError) as error:
        messages.error(request, str(error))
        return page(request, proposal, status=400)
    return redirect("reviews:proposal", pk=proposal.pk)


def editable_change(proposal: Any) -> Any:
    """The proposal's one change, when it updates one object (what the
    project's forms propose); None for anything else."""
    changes = proposal.changes()
    if len(changes) == 1 and changes[0].action == "update" and changes[0].model:
        return changes[0]
    return None


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The proposer changes the proposed values of their open proposal."""
    proposal = visible_proposal(request, pk)
    change = editable_change(proposal)
    if change is None or not proposal.is_open:
        raise Http404("Only an open proposal of one object's changes is edited here.")
    if request.user not in rules.authors(proposal):
        raise PermissionDenied("Only its proposer edits a proposal.")
    model = change.model
    names = [f.name for f in change.fields if not f.many_to_many]
    form_class = modelform_factory(model, fields=names)
    preview = proposal.preview(model, model._meta.pk.to_python(change.pk))
    form = form_class(request.POST or None, instance=preview)
    if request.method == "POST" and form.is_valid():

        def save() -> None:
            obj = model._default_manager.get(pk=preview.pk)
            construct_instance(form, obj, fields=names)
            obj.save()

        try:
            services.edit(proposal, request.user, save)
        except ProposalConflict:
            messages.error(request, "It conflicts with changes made since: rebase it first.")
        else:
            messages.success(request, "Your proposal was updated; it waits for review.")
            return redirect("reviews:proposal", pk=proposal.pk)
    return render(request, "reviews/edit.html", {"proposal": proposal, "form": form})
