from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from {{ cookiecutter.project }}.invoices.forms import InvoiceForm
from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.invoices.services import save_or_propose
from {{ cookiecutter.project }}.reviews.services import receipt


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
    description = request.headers.get("X-Commit-Message", "")
    proposal = save_or_propose(request.user, form.instance, description)
    if proposal is not None:
        return JsonResponse(receipt(proposal), status=202)
    return JsonResponse(
        {
            "number": invoice.number,
            "amount": str(invoice.amount),
            "exchange_rate": str(invoice.exchange_rate),
            "local_amount": str(invoice.local_amount),
        }
    )
