from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

from {{ cookiecutter.project }}.invoices.forms import InvoiceForm
from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.invoices.services import save_invoice
from {{ cookiecutter.project }}.reviews import rules, services


@require_POST
@login_required
def update(request: HttpRequest, pk: int) -> JsonResponse:
    """Change an invoice's amounts; the system corrects the local amount.

    RevyMiddleware already made the actor the signed-in user, or the
    organisation named by X-Perform-As-Organization, and described the
    revision with the X-Commit-Message header. A change that needs review
    (reviews/rules.py) is submitted as a proposal instead: 202 Accepted.
    """
    acting_for = getattr(request, "organization", None)
    if acting_for is not None:
        invoices = Invoice.objects.filter(organization=acting_for)
    else:
        invoices = Invoice.objects.filter(organization__members=request.user)
    invoice = get_object_or_404(invoices, pk=pk)
    form = InvoiceForm(request.POST, instance=invoice)
    if not form.is_valid():  # Assigns the fields sent, with the request's actor.
        return JsonResponse({"errors": form.errors}, status=400)
    if rules.proposes(request.user, form.instance):
        description = request.headers.get("X-Commit-Message") or f"Change of invoice {invoice}"
        proposal = services.submit(request.user, description, lambda: save_invoice(invoice))
        return JsonResponse(
            {
                "status": "submitted for review",
                "proposal": proposal.pk,
                "url": reverse("reviews:proposal", args=[proposal.pk]),
            },
            status=202,
        )
    save_invoice(form.instance)
    return JsonResponse(
        {
            "number": invoice.number,
            "amount": str(invoice.amount),
            "exchange_rate": str(invoice.exchange_rate),
            "local_amount": str(invoice.local_amount),
        }
    )
