"""Background work, where the system is the actor.

Call these from your scheduler (a cron'd management command, Celery, RQ...):
outside a request, no resolver answers, so the actor is None: the system.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from revy import Context

from {{ cookiecutter.project }}.invoices.models import Invoice
from {{ cookiecutter.project }}.invoices.services import save_invoice

RATES_UPDATED = "Exchange rates updated."


@Context()
@transaction.atomic
def refresh_exchange_rates(rates: dict[str, Decimal]) -> int:
    """Apply new exchange rates to unpaid invoices; return how many changed.

    The new rates and local amounts are history. Stamping when each invoice
    was last checked is bookkeeping: that part runs with tracking disabled.
    """
    Context.set_revision_description(RATES_UPDATED)
    unpaid = Invoice.objects.filter(is_paid=False, currency__in=list(rates))
    changed = 0
    for invoice in unpaid:
        rate = rates[invoice.currency]
        if invoice.exchange_rate != rate:
            invoice.exchange_rate = rate
            save_invoice(invoice)
            changed += 1
    with Context.as_disabled():
        # <-- Nothing in this block is recorded.
        unpaid.update(rate_checked_at=timezone.now())
    # <-- Here tracking is enabled again.
    return changed
