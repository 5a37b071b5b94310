from decimal import Decimal

from django.db import models

from {{ cookiecutter.project }}.accounts.models import Organization

CENT = Decimal("0.01")


class Invoice(models.Model):
    """An invoice in a foreign currency, with its amount in the local currency."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="invoices"
    )
    number = models.CharField(max_length=32, unique=True)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    exchange_rate = models.DecimalField(max_digits=12, decimal_places=6)
    local_amount = models.DecimalField(max_digits=14, decimal_places=2)
    is_paid = models.BooleanField(default=False)
    rate_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        # Holders propose changes for review instead of making them (reviews/).
        permissions = [("propose_invoice", "Can propose changes to invoice")]

    def __str__(self) -> str:
        return self.number

    def expected_local_amount(self) -> Decimal:
        return (self.amount * self.exchange_rate).quantize(CENT)
